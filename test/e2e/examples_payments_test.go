package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/cluster"
	"github.com/landfall-dev/landfall/test/prometheus"
)

// TestPaymentsExample runs the examples' payments story on the full cluster:
// examples/shop-config in Git, examples/deploy/payments.yaml as the Application. Only what
// a test cluster lacks or cannot wait for is changed: the namespaces (prefixed with the
// test's), the Repository's name, Prometheus's address (a real Prometheus scraping request
// counters the test serves), and the durations (bake 30m → 10s, pauses 2m → 1s, analysis
// every 1s instead of 30s).
//
// Staging (one replica) takes each revision whole, never a canary, gated by the error rate
// of its own namespace: production's series do not exist until staging has promoted the
// first revision, so a query of production's namespace would stay inconclusive and staging
// would fail. Production (autoscaled, minReplicas 3) goes canary over the 3 pods it runs:
// 1 canary and 2 stable at 25%, 2 and 1 at 50%, where it waits for `landfall promote`.
func TestPaymentsExample(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	e := withMetrics(t)
	f := newFixture(t, e, exampleChart(t, "charts/payments"))
	staging, production := f.ns+"-shop-staging", f.ns+"-shop-production"
	requests := &requestCounters{start: time.Now()}
	requests.serve(staging)
	target := httptest.NewServer(requests)
	t.Cleanup(target.Close)
	prom := prometheus.Start(t, strings.TrimPrefix(target.URL, "http://"))
	requestRate := func(ns string) string { return `sum(rate(http_requests_total{namespace="` + ns + `"}[2m]))` }
	prom.WaitFor(t, requestRate(staging), timeout, func(v float64) bool { return v > 0 })

	app := paymentsApplication(t, f, prom.URL, staging, production)
	must(t, e.k8s.Create(t.Context(), app))
	first := revisionOf(f.srv.Head(t, "refs/heads/main"))
	g.Eventually(func(g Gomega) landfallv1.RolloutPhase {
		ro := envStatus(g, f.get(g, app), "staging").Rollout
		g.Expect(ro).NotTo(BeNil())
		return ro.Phase
	}, rolloutTimeout, poll).Should(Equal(landfallv1.RolloutBaking), "staging promoted the first revision on its own error rate")
	requests.serve(production)
	prom.WaitFor(t, requestRate(production), timeout, func(v float64) bool { return v > 0 })
	g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "production", first) }, rolloutTimeout, poll).Should(Succeed())
	waitRolledOut(g, e.k8s, production, "payments", 3)

	stagingCanary := watchObject[*appsv1.Deployment](t, e, &appsv1.DeploymentList{}, staging, "payments-canary")
	second := revisionOf(f.push(t, write(t, map[string]string{
		"charts/payments/values-staging.yaml":    exampleFile(t, "shop-config/charts/payments/values-staging.yaml", `tag: "2.4.0-rc.1"`, `tag: "2.4.0"`),
		"charts/payments/values-production.yaml": exampleFile(t, "shop-config/charts/payments/values-production.yaml", `tag: "2.3.1"`, `tag: "2.4.0"`),
	})))
	g.Eventually(func(g Gomega) {
		st := envStatus(g, f.get(g, app), "production")
		g.Expect(st.Rollout).NotTo(BeNil())
		g.Expect([]any{st.Rollout.Revision, st.Rollout.Step, st.AwaitingApproval}).To(Equal([]any{second, int32(1), second}), "%s", st.Message)
		g.Expect(servedPods(g, e.k8s, production, "payments")).To(Equal(map[bool]int{true: 2, false: 1}), "50%% of 3 pods")
	}, rolloutTimeout, poll).Should(Succeed())
	g.Expect(envStatus(g, f.get(g, app), "staging").Rollout.Phase).To(Equal(landfallv1.RolloutCompleted))
	out, err := f.cli(t, "promote", "payments", "--env", "production")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "production", second) }, rolloutTimeout, poll).Should(Succeed())
	g.Expect(imageOf(waitRolledOut(g, e.k8s, production, "payments", 3))).To(Equal("registry.example/shop/payments:2.4.0"))
	g.Expect(imageOf(waitRolledOut(g, e.k8s, staging, "payments", 1))).To(Equal("registry.example/shop/payments:2.4.0"))
	g.Expect(stagingCanary.len()).To(BeZero(), "staging never runs a canary")
	for _, env := range []string{"staging", "production"} {
		g.Expect(envStatus(g, f.get(g, app), env).Rollout.Analysis).To(ContainElement(And(HaveField("Name", "error-rate"),
			HaveField("LastValue", "0"))), "%s measured its own error rate", env)
	}
}

// paymentsApplication is examples/deploy/payments.yaml with the test's changes.
func paymentsApplication(t *testing.T, f *fixture, promURL, staging, production string) *landfallv1.Application {
	app := &landfallv1.Application{}
	must(t, yaml.UnmarshalStrict([]byte(exampleFile(t, "deploy/payments.yaml")), app))
	app.Namespace, app.Spec.RepositoryRef.Name = f.ns, f.repo.Name
	envs := app.Spec.Environments
	if len(envs) != 2 || envs[0].Namespace != "shop-staging" || envs[1].Namespace != "shop-production" {
		t.Fatalf("payments.yaml: environments %+v, want shop-staging and shop-production", envs)
	}
	envs[0].Namespace, envs[1].Namespace = staging, production
	// Long enough for Prometheus to scrape production's series, served from the bake on.
	envs[0].BakeTime = &metav1.Duration{Duration: 10 * time.Second}
	for _, r := range []*landfallv1.RolloutSpec{app.Spec.Rollout, envs[1].Rollout} {
		for i := range r.Steps {
			r.Steps[i].Pause = &metav1.Duration{Duration: time.Second}
		}
		for i := range r.Analysis {
			r.Analysis[i].Prometheus.Address = promURL
			r.Analysis[i].Interval = &metav1.Duration{Duration: time.Second}
		}
	}
	return app
}

// requestCounters serves http_requests_total of the payments app, 10 requests a second
// and no errors, for the namespaces it was told to.
type requestCounters struct {
	start time.Time
	ns    atomic.Pointer[[]string]
}

func (c *requestCounters) serve(ns string) {
	old := c.ns.Load()
	next := []string{ns}
	if old != nil {
		next = append(next, *old...)
	}
	c.ns.Store(&next)
}

func (c *requestCounters) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	n := int(time.Since(c.start).Seconds() * 10)
	fmt.Fprintln(w, "# TYPE http_requests_total counter")
	if ns := c.ns.Load(); ns != nil {
		for _, name := range *ns {
			fmt.Fprintf(w, "http_requests_total{namespace=%q,app=\"payments\",code=\"200\"} %d\n", name, n)
			fmt.Fprintf(w, "http_requests_total{namespace=%q,app=\"payments\",code=\"500\"} 0\n", name)
		}
	}
}

// exampleFile reads examples/name, with each old (which must be there) replaced by new.
func exampleFile(tb testing.TB, name string, oldNew ...string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(cluster.RepoRoot(), "examples", name))
	must(tb, err)
	s := string(b)
	for i := 0; i+1 < len(oldNew); i += 2 {
		if !strings.Contains(s, oldNew[i]) {
			tb.Fatalf("examples/%s has no %q", name, oldNew[i])
		}
		s = strings.ReplaceAll(s, oldNew[i], oldNew[i+1])
	}
	return s
}
