package webhook

import (
	"math"
	"net"
	"net/netip"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/utils/lru"
)

// Defaults of a receiver's Refusals.
const (
	// RefusalsPerSecond is how fast a source earns back the right to be refused.
	RefusalsPerSecond = 1
	// RefusalBurst is how many refusals in a row a source gets before it is limited.
	RefusalBurst = 60
	// MaxSources bounds the sources Refusals remembers; the least recently refused is
	// forgotten first.
	MaxSources = 4096
)

// Refusals limits, per source address, how many requests a receiver refuses: a token
// bucket per source, charged one token for each refused request (bad or missing
// signature, unknown repository, oversized, malformed, too slow). A source whose bucket
// is empty is answered 429 before anything of its request is looked at, so a flood of
// unsigned requests costs a map lookup each. Accepted requests cost no token: a Git host
// that signs is never limited by its own volume (a replayed signed delivery costs a
// coalesced fetch, see the receiver). Only refused sources are remembered, at most
// maxSources of them.
//
// The check and the charge are separate, so requests of one source that arrive together
// may be refused up to the receiver's concurrency beyond the burst before the limit holds.
// golang.org/x/time/rate gives the bucket; it is safe for concurrent use.
type Refusals struct {
	every   rate.Limit
	burst   int
	sources *lru.Cache // source → *rate.Limiter
}

// NewRefusals lets each source be refused burst times at once and perSecond times a second
// after that, remembering at most maxSources sources.
func NewRefusals(perSecond float64, burst, maxSources int) *Refusals {
	return &Refusals{every: rate.Limit(perSecond), burst: max(burst, 1), sources: lru.New(max(maxSources, 1))}
}

// Check says whether source may be heard at now; when not, it returns how long until it
// may try again, in whole seconds (at least one) for a Retry-After header.
func (r *Refusals) Check(source string, now time.Time) (retryAfter time.Duration, ok bool) {
	v, found := r.sources.Get(source)
	if !found {
		return 0, true
	}
	tokens := v.(*rate.Limiter).TokensAt(now)
	if tokens >= 1 {
		return 0, true
	}
	wait := 1.0
	if r.every > 0 {
		wait = math.Ceil((1 - tokens) / float64(r.every))
	}
	return time.Duration(max(wait, 1)) * time.Second, false
}

// Refused charges one refusal to source at now.
func (r *Refusals) Refused(source string, now time.Time) {
	v, found := r.sources.Get(source)
	if !found {
		v = rate.NewLimiter(r.every, r.burst)
		r.sources.Add(source, v)
	}
	v.(*rate.Limiter).AllowN(now, 1)
}

// Len is the number of sources remembered.
func (r *Refusals) Len() int { return r.sources.Len() }

// SourceOf is the source a request's remote address ("host:port") counts as: its IP, or
// for IPv6 its /64 network, the block one subscriber usually holds. The address is the
// connection's own: a header such as X-Forwarded-For is the sender's to choose.
func SourceOf(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, err := ip.Prefix(64)
	if err != nil {
		return ip.String()
	}
	return p.String()
}
