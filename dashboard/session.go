package dashboard

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

const (
	sessionCookie = "landfall_session"
	// sessionTTL bounds how long a browser stays signed in; the token itself is reviewed
	// again whenever the review cache expires, so a revoked or expired token ends the
	// session sooner.
	sessionTTL  = 8 * time.Hour
	maxSessions = 10000
)

// session is one signed-in browser: the token it signed in with (never sent back to the
// browser), and the CSRF token its forms carry.
type session struct {
	token   string
	csrf    string
	expires time.Time

	flashMsg string
	flashOK  bool
}

type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
	now  func() time.Time
}

func newSessions() *sessions { return &sessions{byID: map[string]*session{}, now: time.Now} }

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for token and returns its id.
func (s *sessions) create(token string) (string, *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if len(s.byID) >= maxSessions {
		for id, ss := range s.byID {
			if now.After(ss.expires) {
				delete(s.byID, id)
			}
		}
		if len(s.byID) >= maxSessions {
			clear(s.byID) // everyone signs in again, rather than unbounded memory
		}
	}
	id := randomToken()
	ss := &session{token: token, csrf: randomToken(), expires: now.Add(sessionTTL)}
	s.byID[id] = ss
	return id, ss
}

func (s *sessions) get(id string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byID[id]
	if !ok {
		return nil
	}
	if s.now().After(ss.expires) {
		delete(s.byID, id)
		return nil
	}
	return ss
}

func (s *sessions) drop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// sameOrigin reports whether a state-changing request comes from a page of this server:
// its Origin (or, without one, its Referer) must name the host the request was sent to.
// Browsers send Origin with every POST; a request with neither is refused.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		origin = r.Header.Get("Referer")
	}
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

func validCSRF(ss *session, got string) bool {
	return ss != nil && got != "" && subtle.ConstantTimeCompare([]byte(ss.csrf), []byte(got)) == 1
}

// flash is a message for the next page this session shows, the result of an action.
func (s *sessions) flash(id, msg string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss, found := s.byID[id]; found {
		flashMu.Lock()
		ss.flashMsg, ss.flashOK = msg, ok
		flashMu.Unlock()
	}
}

func (ss *session) takeFlash() (string, bool) {
	flashMu.Lock()
	defer flashMu.Unlock()
	msg, ok := ss.flashMsg, ss.flashOK
	ss.flashMsg = ""
	return msg, ok
}

// flashMu guards the flash fields of every session: they are read outside sessions.mu.
var flashMu sync.Mutex
