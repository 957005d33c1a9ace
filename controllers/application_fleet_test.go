package controllers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// TestOneCommitRendersOneApplication: many Applications on one repository, a folder each; a
// commit that changes one folder renders that Application alone. The others take the new
// revision from what the commit changed, not from a render (nor the render cache, which a
// fleet larger than it evicts).
func TestOneCommitRendersOneApplication(t *testing.T) {
	const apps = 12
	g := NewWithT(t)
	ns := newNamespace(t)
	files := map[string]string{}
	for i := range apps {
		files[fmt.Sprintf("apps/a%02d/configmap.yaml", i)] = fleetConfigMap(i, "one")
	}
	srv := gitserver.New(t, gitserver.Options{})
	first := srv.Commit(t, "main", files)
	repo := newRepository(t, ns, srv, time.Hour)
	for i := range apps {
		app := &landfallv1.Application{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("a%02d", i), Namespace: ns},
			Spec: landfallv1.ApplicationSpec{
				RepositoryRef: landfallv1.LocalObjectReference{Name: repo.Name},
				Path:          fmt.Sprintf("apps/a%02d", i),
				Environments:  []landfallv1.Environment{{Name: "prod", Namespace: ns}},
				Prune:         true,
			},
		}
		g.Expect(k8s.Create(context.Background(), app)).To(Succeed())
	}
	fleetAt := func(revision string) func(g Gomega) {
		return func(g Gomega) {
			list := &landfallv1.ApplicationList{}
			g.Expect(k8s.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
			g.Expect(list.Items).To(HaveLen(apps))
			for _, app := range list.Items {
				st := envStatus(g, &app, "prod")
				g.Expect(st.Revision).To(Equal(revision), app.Name)
				g.Expect(st.Rollout).NotTo(BeNil(), app.Name)
				g.Expect(st.Rollout.Phase).To(Equal(landfallv1.RolloutCompleted), app.Name)
				g.Expect(st.Sync).To(Equal(landfallv1.SyncSynced), app.Name)
			}
		}
	}
	g.Eventually(fleetAt("main@sha1:"+first), 3*time.Minute, poll).Should(Succeed())
	before, beforeAll := renderCalls(g, ns), renderCount(g)

	second := srv.Commit(t, "main", map[string]string{"apps/a03/configmap.yaml": fleetConfigMap(3, "two")})
	g.Expect(sendHook(t, repo, hookToken, []byte(pushBody))).To(Equal(200))
	g.Eventually(fleetAt("main@sha1:"+second), 3*time.Minute, poll).Should(Succeed())
	g.Eventually(func(g Gomega) string {
		cm := &corev1.ConfigMap{}
		g.Expect(k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "a03"}, cm)).To(Succeed())
		return cm.Data["greeting"]
	}, timeout, poll).Should(Equal("two"))

	after := renderCalls(g, ns)
	t.Logf("the commit: render calls by Application %v; %.0f renders run by the controller (every test's)",
		after, renderCount(g)-beforeAll)
	for i := range apps {
		name := fmt.Sprintf("a%02d", i)
		calls := after[name] - before[name]
		if name == "a03" {
			// The render it applies, and the same render read back when it is promoted
			// healthy (to store it for rollbacks): the render cache answers that one.
			g.Expect(calls).To(BeNumerically("~", 1.5, 0.5), name)
			continue
		}
		g.Expect(calls).To(BeZero(), "%s: its folder did not change, yet it asked for a render", name)
	}
}

func fleetConfigMap(i int, greeting string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a%02d}\ndata: {greeting: %s}\n", i, greeting)
}

// renderCalls is how many renders each Application of ns asked for (answered from the
// cache or not), from landfall_render_duration_seconds: other tests' Applications cannot
// count.
func renderCalls(g Gomega, ns string) map[string]float64 {
	families, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	n := map[string]float64{}
	for _, mf := range families {
		if mf.GetName() != "landfall_render_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labels := labelsOf(m.GetLabel()); labels["namespace"] == ns {
				n[labels["application"]] += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return n
}

// renderCount is landfall_renders_total: renders the controller ran, for every test.
func renderCount(g Gomega) float64 {
	families, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	for _, mf := range families {
		if mf.GetName() == "landfall_renders_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

// labelsOf is a series' labels by name.
func labelsOf[L interface {
	GetName() string
	GetValue() string
}](pairs []L) map[string]string {
	labels := map[string]string{}
	for _, l := range pairs {
		labels[l.GetName()] = l.GetValue()
	}
	return labels
}
