package controllers_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// managerRequests records every request the test manager sends to the apiserver, as
// "<METHOD> <path>[ (dry run)]", so a test can tell which ones a sync made.
var managerRequests managerRequestLog

type managerRequestLog struct {
	mu   sync.Mutex
	seen []string
}

func (l *managerRequestLog) config(base *rest.Config) *rest.Config {
	cfg := rest.CopyConfig(base)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			line := r.Method + " " + r.URL.Path
			if r.URL.Query().Has("dryRun") {
				line += " (dry run)"
			}
			if r.URL.Query().Get("watch") == "true" {
				line = "WATCH " + r.URL.Path
			}
			l.mu.Lock()
			l.seen = append(l.seen, line)
			l.mu.Unlock()
			return rt.RoundTrip(r)
		})
	})
	return cfg
}

// mark is where a test's window starts.
func (l *managerRequestLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen)
}

// since returns the requests recorded after mark whose line contains every one of parts.
func (l *managerRequestLog) since(mark int, parts ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
next:
	for _, line := range l.seen[mark:] {
		for _, p := range parts {
			if !strings.Contains(line, p) {
				continue next
			}
		}
		out = append(out, line)
	}
	return out
}

// setDeploymentStatus gives a Deployment the status a controller-manager would once its
// replicas are available, or (updated < replicas) while it rolls out.
func setDeploymentStatus(g Gomega, ns, name string, updated int32) {
	ctx := context.Background()
	g.Eventually(func(g Gomega) {
		d := &appsv1.Deployment{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d)).To(Succeed())
		n := *d.Spec.Replicas
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: updated,
			ReadyReplicas: updated, AvailableReplicas: updated,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"}}}
		if updated < n {
			d.Status.Conditions[1].Reason = "ReplicaSetUpdated"
		}
		g.Expect(k8s.Status().Update(ctx, d)).To(Succeed())
	}, timeout, poll).Should(Succeed())
}

// TestStatusChangesReadOnlyWhatChanged: once an Application is synced and healthy, the
// status of its Deployment changing (a rollout started by someone scaling it, pods turning
// ready) wakes it, and it reads that Deployment alone: its other objects' health comes from
// the informers the drift watch keeps (a ConfigMap's from its being there, a Service's
// from the resourceVersion it was judged at), and the Application itself from the
// informer cache. A commit then applies without reading the namespace again, and without
// a dry run of the object it creates.
func TestStatusChangesReadOnlyWhatChanged(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, appFiles(), nil)
	target := f.ns + "-staging"
	g.Eventually(exists(target, "web", &appsv1.Deployment{}), timeout, poll).Should(Succeed())
	setDeploymentStatus(g, target, "web", 2)
	g.Eventually(func(g Gomega) {
		app := f.get(g)
		g.Expect(conditionReason(app)).To(Equal(landfallv1.ReasonSucceeded))
		g.Expect(envStatus(g, app, "staging").Health).To(Equal(landfallv1.HealthHealthy))
	}, timeout, poll).Should(Succeed())

	// The zero Application GETs below hold once the informer has the controller's last
	// status write; on a loaded machine it may lag, so wait for it rather than flake.
	g.Eventually(func(g Gomega) {
		cached := &landfallv1.Application{}
		g.Expect(managerCache.Get(t.Context(), client.ObjectKeyFromObject(f.app), cached)).To(Succeed())
		g.Expect(cached.ResourceVersion).To(Equal(f.get(g).ResourceVersion))
	}, timeout, poll).Should(Succeed())
	mark := managerRequests.mark()
	setDeploymentStatus(g, target, "web", 1)
	g.Eventually(func(g Gomega) {
		g.Expect(envStatus(g, f.get(g), "staging").Health).To(Equal(landfallv1.HealthProgressing))
	}, timeout, poll).Should(Succeed())
	g.Expect(managerRequests.since(mark, "GET", "/namespaces/"+target+"/deployments/web")).NotTo(BeEmpty(),
		"the Deployment whose status changed is read")
	for _, other := range []string{"/services/web", "/configmaps/web-config"} {
		g.Expect(managerRequests.since(mark, "GET", "/namespaces/"+target+other)).To(BeEmpty(),
			"%s did not change: its health is known", other)
	}
	g.Expect(managerRequests.since(mark, "GET", "/namespaces/"+f.ns+"/applications/web")).To(BeEmpty(),
		"the informer cache holds the Application as this process last wrote it")

	mark = managerRequests.mark()
	commit := f.push(t, writeFile(g, "apps/web/extra.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {a: b}\n"))
	g.Eventually(func(g Gomega) {
		g.Expect(envStatus(g, f.get(g), "staging").Revision).To(HaveSuffix(commit))
		g.Expect(exists(target, "extra", &corev1.ConfigMap{})()).To(Succeed())
	}, timeout, poll).Should(Succeed())
	g.Expect(managerRequests.since(mark, "/api/v1/namespaces/"+target, "GET")).To(
		Not(ContainElement("GET /api/v1/namespaces/"+target)), "the namespace was seen at the first apply")
	g.Expect(managerRequests.since(mark, "/configmaps/extra", "(dry run)")).To(BeEmpty(), "a new object is created without a dry run")
	g.Expect(managerRequests.since(mark, "PATCH", "/configmaps/extra")).To(HaveLen(1), "created once")
}
