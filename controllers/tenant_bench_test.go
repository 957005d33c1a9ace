package controllers_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/controllers"
)

// countingTransport counts the requests a client sends to the apiserver.
type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// BenchmarkImpersonation measures what deploying as ServiceAccounts costs the controller:
// per pass over 1,000 Applications across 50 ServiceAccounts (20 Applications each), the
// clients cached, the apiserver requests and the bytes allocated (B/op: the first pass
// builds the 50 clients); beside it the baseline, the same Applications with the
// controller's own client. One op is one pass; each Application's client then reads one
// ConfigMap, as a sync's first read would. The impersonated pass adds one request per
// Application: the check that its ServiceAccount exists.
func BenchmarkImpersonation(b *testing.B) {
	const apps, accounts = 1000, 50
	ctx := context.Background()
	ns := newNamespace(b)
	for i := range accounts {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("deployer-%d", i), Namespace: ns}}
		if err := k8s.Create(ctx, sa); err != nil {
			b.Fatal(err)
		}
	}
	for _, mode := range []string{"baseline", "impersonated"} {
		b.Run(mode, func(b *testing.B) {
			var requests atomic.Int64
			cfg := rest.CopyConfig(restConfig)
			cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return countingTransport{next: rt, n: &requests} }
			dests, err := controllers.NewDestinationsForTest(cfg, k8s, client.Options{Scheme: k8s.Scheme()})
			if err != nil {
				b.Fatal(err)
			}
			list := make([]*landfallv1.Application, apps)
			for i := range list {
				list[i] = &landfallv1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%d", i)}}
				if mode == "impersonated" {
					list[i].Spec.ServiceAccountName = fmt.Sprintf("deployer-%d", i%accounts)
				}
			}
			requests.Store(0)
			b.ResetTimer()
			for range b.N {
				for _, app := range list {
					c, err := dests.ForApplication(ctx, app)
					if err != nil {
						b.Fatal(err)
					}
					err = c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "absent"}, &corev1.ConfigMap{})
					if client.IgnoreNotFound(err) != nil && mode == "baseline" {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(requests.Load())/float64(b.N), "requests/pass")
			b.ReportMetric(float64(dests.Cached()), "clients")
		})
	}
}
