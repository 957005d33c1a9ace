package controllers_test

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

func limitCount(g Gomega, kind, limit string) float64 {
	for _, s := range series(g, "landfall_limit_exceeded_total") {
		if s.labels["kind"] == kind && s.labels["limit"] == limit {
			return s.value
		}
	}
	return 0
}

func TestHostileGitServerStallsOnlyItsRepository(t *testing.T) {
	g := NewWithT(t)
	before := limitCount(g, "Repository", "git-answer")
	srv := gitserver.NewHostile(t, gitserver.ShallowFlood)
	ns := newNamespace(t)
	repo := createRepository(t, ns, "hostile", landfallv1.RepositorySpec{
		URL: srv.URL, Ref: landfallv1.GitRef{Branch: "main"}, Insecure: true, Interval: hourly,
	})
	g.Eventually(func(g Gomega) {
		got := &landfallv1.Repository{}
		g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(repo), got)).To(Succeed())
		ready := apimeta.FindStatusCondition(got.Status.Conditions, landfallv1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Reason).To(Equal(landfallv1.ReasonLimitExceeded))
		g.Expect(ready.Message).To(ContainSubstring("MaxPrePackBytes"))
		g.Expect(apimeta.IsStatusConditionTrue(got.Status.Conditions, landfallv1.ConditionStalled)).To(BeTrue())
		g.Expect(warningEvents(g, repo, landfallv1.ReasonLimitExceeded)).NotTo(BeEmpty())
		g.Expect(limitCount(g, "Repository", "git-answer")).To(BeNumerically(">", before))
	}, timeout, poll).Should(Succeed())
}

// hostileChart is a Helm chart whose template asks for 600 MB of string.
var hostileChart = map[string]string{
	"apps/hostile/Chart.yaml":               "apiVersion: v2\nname: hostile\nversion: 0.1.0\n",
	"apps/hostile/templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hostile\ndata:\n  v: {{ repeat 600000000 \"x\" | quote }}\n",
}

func TestHostileChartFailsOnlyItsApplication(t *testing.T) {
	g := NewWithT(t)
	before := limitCount(g, "Application", "render")
	files := map[string]string{"apps/web/configmap.yaml": configMapYAML}
	for k, v := range hostileChart {
		files[k] = v
	}
	healthy := newFixture(t, files, nil)
	hostile := newFixture(t, files, func(app *landfallv1.Application) {
		app.Name, app.Spec.Path = "hostile", "apps/hostile"
	})
	g.Eventually(func(g Gomega) {
		app := hostile.get(g)
		ready := apimeta.FindStatusCondition(app.Status.Conditions, landfallv1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Reason).To(Equal(landfallv1.ReasonLimitExceeded))
		g.Expect(ready.Message).To(ContainSubstring("memory limit"))
		g.Expect(limitCount(g, "Application", "render")).To(BeNumerically(">", before))
		events := &corev1.EventList{}
		g.Expect(k8s.List(context.Background(), events, client.InNamespace(hostile.ns))).To(Succeed())
		found := false
		for _, e := range events.Items {
			found = found || (e.Reason == landfallv1.ReasonLimitExceeded && e.InvolvedObject.Name == "hostile" &&
				strings.Contains(e.Message, "render limit exceeded"))
		}
		g.Expect(found).To(BeTrue(), "a LimitExceeded Event about the Application")
	}, 2*timeout, poll).Should(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(conditionReason(healthy.get(g))).To(Equal(landfallv1.ReasonSucceeded))
		cm := &corev1.ConfigMap{}
		g.Expect(k8s.Get(context.Background(), client.ObjectKey{Namespace: healthy.ns + "-staging", Name: "web-config"}, cm)).To(Succeed())
	}, 2*timeout, poll).Should(Succeed())
}
