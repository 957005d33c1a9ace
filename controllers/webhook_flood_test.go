package controllers_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// fromSource is an HTTP client whose connections come from the loopback address ip, so a
// test's refusals are charged to a source of its own, not to the other tests' 127.0.0.1.
func fromSource(t *testing.T, ip string) *http.Client {
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: timeout}
}

func postFrom(hc *http.Client, repo *landfallv1.Repository, h http.Header, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, webhookURL(repo), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = h
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	return resp, resp.Body.Close()
}

// TestUnsignedFloodCostsNoAPIRequest: the webhook Secret is watched from the moment the
// Repository names it, so a flood of unsigned and wrongly signed requests, to that
// Repository and to one that does not exist, reads neither a Secret nor a Repository from
// the apiserver, and writes nothing.
func TestUnsignedFloodCostsNoAPIRequest(t *testing.T) {
	g := NewWithT(t)
	srv := gitserver.New(t, gitserver.Options{})
	srv.Commit(t, "main", map[string]string{"README": "one"})
	repo := hookedRepository(t, srv, true)
	// A LIST, or the watch that lists as it starts (client-go's watch-list).
	path := "/api/v1/namespaces/" + repo.Namespace + "/secrets"
	g.Eventually(func() []string {
		return exactly(managerRequests.since(0, path), "GET "+path, "WATCH "+path)
	}, timeout, poll).
		ShouldNot(BeEmpty(), "the webhook Secret is listed once the Repository names it, before any delivery")
	mark := managerRequests.mark()

	missing := &landfallv1.Repository{}
	missing.Namespace, missing.Name = newNamespace(t), "nothing-here"
	hc := fromSource(t, "127.0.0.3")
	body := []byte(githubPushBody)
	for i := range 150 {
		target, h := repo, githubPush("not-the-key", body)
		switch i % 3 {
		case 1:
			h = http.Header{} // no signature at all
		case 2:
			target = missing
		}
		resp, err := postFrom(hc, target, h, body)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(resp.StatusCode).To(BeElementOf(http.StatusUnauthorized, http.StatusNotFound, http.StatusTooManyRequests))
	}
	for _, part := range []string{"/namespaces/" + repo.Namespace + "/secrets", "/namespaces/" + missing.Namespace + "/"} {
		g.Expect(managerRequests.since(mark, part)).To(BeEmpty(), "requests for %s during the flood", part)
	}
	g.Expect(managerRequests.since(mark, "GET", "/repositories")).To(BeEmpty(), "Repositories come from the cache")
	g.Expect(managerRequests.since(mark, "PATCH", "/repositories")).To(BeEmpty())
	g.Expect(managerRequests.since(mark, "PUT", "/repositories")).To(BeEmpty())
}

// exactly keeps the lines that are one of want.
func exactly(lines []string, want ...string) []string {
	var out []string
	for _, l := range lines {
		if slices.Contains(want, l) {
			out = append(out, l)
		}
	}
	return out
}

// TestRefusedSourceIsLimited: a source refused webhook.RefusalBurst times in a row is then
// answered 429 with a Retry-After, before its request is read; other sources are still
// heard, and so is it once the bucket refills.
func TestRefusedSourceIsLimited(t *testing.T) {
	g := NewWithT(t)
	srv := gitserver.New(t, gitserver.Options{})
	srv.Commit(t, "main", map[string]string{"README": "one"})
	repo := hookedRepository(t, srv, true)
	limitedBefore := metricValue(g, "landfall_webhook_rate_limited_total")
	hc := fromSource(t, "127.0.0.2")
	body := []byte(githubPushBody)
	limited := 0
	for i := range 120 {
		resp, err := postFrom(hc, repo, githubPush("not-the-key", body), body)
		g.Expect(err).NotTo(HaveOccurred())
		if i < 60 { // webhook.RefusalBurst: never limited before
			g.Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized), "refusal %d", i+1)
			continue
		}
		g.Expect(resp.StatusCode).To(BeElementOf(http.StatusUnauthorized, http.StatusTooManyRequests))
		if resp.StatusCode == http.StatusTooManyRequests {
			limited++
			wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(wait).To(BeNumerically(">=", 1))
		}
	}
	g.Expect(limited).To(BeNumerically(">", 0), "60 requests past the burst, refilled at one a second")
	g.Expect(metricValue(g, "landfall_webhook_rate_limited_total") - limitedBefore).To(BeNumerically(">=", limited))

	second := srv.Commit(t, "main", map[string]string{"README": "two"})
	g.Expect(postWebhook(repo, githubPush(hookToken, body), body)).To(Equal(http.StatusOK), "another source is heard")
	g.Eventually(func(g Gomega) string { return repositoryStatus(g, repo).Revision }, timeout, poll).
		Should(Equal("main@sha1:" + second))
	g.Eventually(func(g Gomega) int {
		resp, err := postFrom(hc, repo, githubPush(hookToken, body), body)
		g.Expect(err).NotTo(HaveOccurred())
		return resp.StatusCode
	}, timeout, 500*time.Millisecond).Should(Equal(http.StatusOK), "the limited source is heard again once its bucket refills")
}

// metricValue is the sum of the named metric's series.
func metricValue(g Gomega, name string) float64 {
	v := 0.0
	for _, s := range series(g, name) {
		v += s.value
	}
	return v
}
