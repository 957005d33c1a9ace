package prometheus

import (
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	clientprom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Target is a scrape target on loopback that serves gauges the test controls, in the
// text exposition format.
type Target struct {
	// Addr is host:port, as Start takes it.
	Addr string

	reg    *clientprom.Registry
	mu     sync.Mutex
	gauges map[string]clientprom.Gauge
}

// NewTarget starts a target; it stops when the test ends.
func NewTarget(t testing.TB) *Target {
	t.Helper()
	tg := &Target{reg: clientprom.NewRegistry(), gauges: map[string]clientprom.Gauge{}}
	srv := httptest.NewServer(promhttp.HandlerFor(tg.reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	tg.Addr = strings.TrimPrefix(srv.URL, "http://")
	return tg
}

// Set sets the gauge called name (created on first use) to value; NaN is allowed.
func (tg *Target) Set(name string, value float64) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	g, ok := tg.gauges[name]
	if !ok {
		g = clientprom.NewGauge(clientprom.GaugeOpts{Name: name, Help: "A value set by the test."})
		tg.reg.MustRegister(g)
		tg.gauges[name] = g
	}
	g.Set(value)
}
