package controllers

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/landfall-dev/landfall/render/manifest"
	"github.com/landfall-dev/landfall/sync/source"
)

// limitsExceeded counts fetches and renders refused for exceeding a bound. The limit label
// is one of the names exceededLimit returns.
var limitsExceeded = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "landfall_limit_exceeded_total",
	Help: "Fetches and renders refused for exceeding a bound, by kind (Repository, Application) and limit.",
}, []string{"kind", "limit"})

func init() { metrics.Registry.MustRegister(limitsExceeded) }

// exceededLimit names the bound err exceeded, or returns "" when err is no limit.
func exceededLimit(err error) string {
	switch {
	case errors.Is(err, source.ErrTooManyFiles):
		return "checkout-files"
	case errors.Is(err, source.ErrTooLarge):
		return "git-size" // an object, the pack or the checkout
	case errors.Is(err, source.ErrLimit):
		return "git-answer" // the server's ref advertisement, lines before the pack, object count
	case errors.Is(err, manifest.ErrAliasBomb):
		return "yaml-aliases"
	case errors.Is(err, manifest.ErrLimit):
		return "render" // objects, bytes, memory or time of one render
	}
	return ""
}

// countLimit counts err in landfall_limit_exceeded_total if it is a limit, and says so.
func countLimit(kind string, err error) bool {
	l := exceededLimit(err)
	if l != "" {
		limitsExceeded.WithLabelValues(kind, l).Inc()
	}
	return l != ""
}
