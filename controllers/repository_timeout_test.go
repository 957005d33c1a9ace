package controllers_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// A server that accepts connections and never answers must cost a reconcile no more than
// spec.timeout; the engine's own limit (a minute) is far beyond this test's patience.
func TestRepositoryTimeoutBoundsAHungServer(t *testing.T) {
	g := NewWithT(t)
	stop := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(stop) }) // runs first: Close waits for open requests

	repo := createRepository(t, newNamespace(t), "config", landfallv1.RepositorySpec{
		URL: hung.URL + "/repo.git", Ref: landfallv1.GitRef{Branch: "main"}, Insecure: true,
		Interval: hourly, Timeout: &metav1.Duration{Duration: 2 * time.Second},
	})
	g.Eventually(func(g Gomega) {
		ready := apimeta.FindStatusCondition(repositoryStatus(g, repo).Conditions, landfallv1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(landfallv1.ReasonFetchFailed))
		g.Expect(ready.Message).To(ContainSubstring("timed out"))
	}, timeout, poll).Should(Succeed())
	g.Expect(apimeta.FindStatusCondition(repositoryStatus(g, repo).Conditions, landfallv1.ConditionStalled)).
		To(BeNil(), "a slow server may recover: retry, do not stall")
}
