package controllers_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/prometheus/common/expfmt"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// series returns the label sets (as maps) and values of the named metric family in
// controller-runtime's registry, which the manager serves on /metrics. Counters and gauges
// give their value, histograms their sample count.
func series(g Gomega, name string) []sample {
	families, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	var out []sample
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			s := sample{labels: map[string]string{}}
			for _, l := range m.GetLabel() {
				s.labels[l.GetName()] = l.GetValue()
			}
			switch {
			case m.GetHistogram() != nil:
				s.value = float64(m.GetHistogram().GetSampleCount())
			case m.GetCounter() != nil:
				s.value = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				s.value = m.GetGauge().GetValue()
			}
			out = append(out, s)
		}
	}
	return out
}

type sample struct {
	labels map[string]string
	value  float64
}

// exposition is the whole registry in the text format a scraper reads.
func exposition(g Gomega) string {
	families, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	var buf bytes.Buffer
	for _, f := range families {
		_, err := expfmt.MetricFamilyToText(&buf, f)
		g.Expect(err).NotTo(HaveOccurred())
	}
	return buf.String()
}

func TestRepositoryMetrics(t *testing.T) {
	g := NewWithT(t)
	// Credentials unlike any other test's, so the search for them below means something.
	const password, hookKey = "metrics-password-5f1e0b", "metrics-hook-key-9c2a71"
	srv := gitserver.New(t, gitserver.Options{Username: "metrics-user", Password: password})
	srv.Commit(t, "main", map[string]string{"README": "one"})
	ns := newNamespace(t)
	createSecret(t, ns, "git", map[string]string{"username": srv.Username, "password": password})
	createSecret(t, ns, "hook", map[string]string{"token": hookKey})
	repo := createRepository(t, ns, "config", landfallv1.RepositorySpec{
		URL: srv.URL, Ref: landfallv1.GitRef{Branch: "main"}, Insecure: true, Interval: hourly,
		SecretRef:        &landfallv1.LocalObjectReference{Name: "git"},
		WebhookSecretRef: &landfallv1.LocalObjectReference{Name: "hook"},
	})
	g.Eventually(func(g Gomega) string { return repositoryStatus(g, repo).Revision }, timeout, poll).ShouldNot(BeEmpty())

	next := srv.Commit(t, "main", map[string]string{"README": "two"})
	body := []byte(githubPushBody)
	g.Expect(postWebhook(repo, githubPush("wrong-"+hookKey, body), body)).To(Equal(http.StatusUnauthorized))
	g.Expect(postWebhook(repo, githubPush(hookKey, body), body)).To(Equal(http.StatusOK))
	g.Eventually(func(g Gomega) string { return repositoryStatus(g, repo).Revision }, timeout, poll).
		Should(Equal("main@sha1:" + next))

	g.Expect(series(g, "landfall_webhook_requests_total")).To(ContainElements(
		sampleWith(map[string]string{"provider": "github", "code": "200"}),
		sampleWith(map[string]string{"provider": "github", "code": "401"}),
	))
	g.Expect(series(g, "landfall_git_operation_duration_seconds")).To(ContainElements(
		sampleWith(map[string]string{"operation": "check"}),
		sampleWith(map[string]string{"operation": "fetch"}),
	))
	text := exposition(g)
	for _, secret := range []string{password, hookKey, hookToken, "test-password", "PRIVATE KEY"} {
		g.Expect(text).NotTo(ContainSubstring(secret), "no credential in /metrics")
	}

	// The condition series of a Repository go away with it, so dashboards and alerts do
	// not keep reporting a deleted object.
	ready := sampleWith(map[string]string{"kind": "Repository", "namespace": ns, "name": "config", "type": "Ready", "status": "True"})
	g.Eventually(func(g Gomega) []sample { return series(g, "landfall_condition") }, timeout, poll).
		Should(ContainElement(ready))
	g.Expect(k8s.Delete(context.Background(), repo)).To(Succeed())
	g.Eventually(func(g Gomega) []sample { return series(g, "landfall_condition") }, timeout, poll).
		ShouldNot(ContainElement(hasLabels(map[string]string{"kind": "Repository", "namespace": ns, "name": "config"})))
}

// sampleWith matches a series that has all the given labels and a value above zero (for a
// histogram: at least one observation).
func sampleWith(labels map[string]string) OmegaMatcher {
	return And(hasLabels(labels), WithTransform(func(s sample) float64 { return s.value }, BeNumerically(">", 0)))
}

// hasLabels matches a series that has all the given labels, whatever its value.
func hasLabels(labels map[string]string) OmegaMatcher {
	return Satisfy(func(s sample) bool {
		for k, v := range labels {
			if s.labels[k] != v {
				return false
			}
		}
		return true
	})
}
