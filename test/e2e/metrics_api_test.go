package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/landfall-dev/landfall/test/metricsapi"
)

var (
	autoscaleOnce sync.Once
	autoscaleEnv  *env
	autoscaleErr  error
)

// withMetrics returns an environment of its own whose cluster serves the resource metrics
// API (metrics.k8s.io), as metrics-server would, so HorizontalPodAutoscalers work and are
// healthy. It has a cluster of its own: an APIService is cluster-wide, and the other
// tests' autoscalers must keep seeing no metrics.
func withMetrics(tb testing.TB) *env {
	tb.Helper()
	autoscaleOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		autoscaleEnv, autoscaleErr = startEnv(ctx, "autoscale", 2)
		if autoscaleErr != nil {
			return
		}
		keep(autoscaleEnv)
		autoscaleErr = serveMetricsAPI(ctx, autoscaleEnv)
	})
	if autoscaleErr != nil {
		tb.Fatalf("starting the environment with a metrics API: %v", autoscaleErr)
	}
	autoscaleEnv.dumpOnFailure(tb)
	return autoscaleEnv
}

// serveMetricsAPI serves metrics.k8s.io for e's cluster until the package run ends.
func serveMetricsAPI(ctx context.Context, e *env) error {
	stop, err := metricsapi.Serve(ctx, e.k8s)
	if err != nil {
		return err
	}
	stops = append(stops, stop)
	return nil
}

// stops are stopped when the package run ends, after the environments.
var stops []func()

// TestMetricsAPI: the cluster of withMetrics serves pod metrics through the apiserver.
func TestMetricsAPI(t *testing.T) {
	t.Parallel()
	e := withMetrics(t)
	NewWithT(t).Eventually(func(g Gomega) {
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion("metrics.k8s.io/v1beta1")
		list.SetKind("PodMetricsList")
		g.Expect(e.k8s.List(context.Background(), list, client.InNamespace("default"))).To(Succeed())
	}, timeout, poll).Should(Succeed())
}
