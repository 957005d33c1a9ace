package analysis

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Provider runs one query and returns its single value.
type Provider interface {
	Query(ctx context.Context, query string) (float64, error)
}

// Errors a provider returns for results that cannot be judged; Assess counts them, like
// any error, as inconclusive.
var (
	ErrNoData    = errors.New("the query returned no data")
	ErrAmbiguous = errors.New("the query returned more than one series")
)

// DefaultQueryTimeout bounds a query when the context has no earlier deadline.
const DefaultQueryTimeout = 10 * time.Second

// Prometheus queries a Prometheus server's HTTP API with instant queries.
type Prometheus struct {
	api promv1.API
}

// NewPrometheus returns a provider for the server at address (http or https). rt may be
// nil for the default transport. Credentials in the address are refused: they would
// show up in errors and status.
func NewPrometheus(address string, rt http.RoundTripper) (*Prometheus, error) {
	u, err := url.Parse(address)
	if err != nil {
		return nil, fmt.Errorf("prometheus address: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("prometheus address %q: want http(s)://host[:port]", u.Redacted())
	}
	if u.User != nil {
		return nil, fmt.Errorf("prometheus address %q: credentials in the address are not allowed", u.Redacted())
	}
	client, err := promapi.NewClient(promapi.Config{Address: address, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prometheus client: %w", err)
	}
	return &Prometheus{api: promv1.NewAPI(client)}, nil
}

// Query runs an instant query at the server's current time. It returns the value of a
// scalar or of a vector with exactly one sample; no sample is ErrNoData, several are
// ErrAmbiguous. NaN is returned as it is, for the assessment to judge.
func (p *Prometheus) Query(ctx context.Context, query string) (float64, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultQueryTimeout)
		defer cancel()
	}
	v, _, _, err := p.api.Query(ctx, query, time.Time{})
	if err != nil {
		return 0, fmt.Errorf("prometheus query: %w", err)
	}
	switch r := v.(type) {
	case nil:
		return 0, ErrNoData
	case *model.Scalar:
		return float64(r.Value), nil
	case model.Vector:
		switch len(r) {
		case 0:
			return 0, ErrNoData
		case 1:
			return float64(r[0].Value), nil
		default:
			return 0, fmt.Errorf("%w (%d series, e.g. %s): aggregate it to one", ErrAmbiguous, len(r), r[0].Metric)
		}
	default:
		return 0, fmt.Errorf("prometheus query returned a %s; want a scalar or an instant vector", v.Type())
	}
}
