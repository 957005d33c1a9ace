package controllers_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// BenchmarkWebhookFlood sends a burst of signed push webhooks for a new commit in each of
// 10 Repositories (200 requests each, 8 clients at once, over loopback) and reports the
// requests per second and the handler's p50/p99 as a client sees them, the most fetches one
// Repository's burst cost (upload-packs at its Git server) and the test process's heap in
// use before and after, beside the baseline: the same burst against a bare net/http
// handler that reads the body and checks its HMAC, nothing else.
func BenchmarkWebhookFlood(b *testing.B) {
	const repos, perRepo, clients = 10, 200, 8
	g := NewWithT(b)
	servers := make([]*gitserver.Server, repos)
	targets := make([]*landfallv1.Repository, repos)
	for i := range repos {
		servers[i] = gitserver.New(b, gitserver.Options{})
		servers[i].Commit(b, "main", map[string]string{"README": "0"})
		targets[i] = hookedRepository(b, servers[i], true)
	}
	body := []byte(githubPushBody)
	header := githubPush(hookToken, body)
	header.Set("Content-Type", "application/json")
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: timeout}
	defer hc.CloseIdleConnections()
	bare := httptest.NewServer(http.HandlerFunc(bareHook))
	defer bare.Close()
	urls := make([]string, 0, repos*perRepo)
	for range perRepo {
		for _, repo := range targets {
			urls = append(urls, webhookURL(repo))
		}
	}
	bareURLs := slices.Repeat([]string{bare.URL}, len(urls))

	var landfall, baseline burst
	maxFetches := int64(0)
	heapBefore, heapAfter := heapInUse(), uint64(0)
	for b.Loop() {
		b.StopTimer()
		want := make([]string, repos)
		packs := make([]int64, repos)
		for i, srv := range servers {
			want[i] = "main@sha1:" + srv.Commit(b, "main", map[string]string{"README": strconv.Itoa(b.N) + time.Now().String()})
			packs[i] = srv.UploadPacks()
		}
		b.StartTimer()
		landfall.add(fire(g, hc, urls, header, body, clients))
		b.StopTimer()
		for i, repo := range targets {
			g.Eventually(func(g Gomega) string { return repositoryStatus(g, repo).Revision }, timeout, poll).Should(Equal(want[i]))
		}
		for i, srv := range servers {
			maxFetches = max(maxFetches, srv.UploadPacks()-packs[i])
		}
		heapAfter = heapInUse()
		baseline.add(fire(g, hc, bareURLs, header, body, clients))
		b.StartTimer()
	}
	b.ReportMetric(landfall.rate(), "req/s")
	b.ReportMetric(baseline.rate(), "raw_req/s")
	b.ReportMetric(landfall.quantile(0.50), "p50_ms")
	b.ReportMetric(landfall.quantile(0.99), "p99_ms")
	b.ReportMetric(baseline.quantile(0.99), "raw_p99_ms")
	b.ReportMetric(float64(maxFetches), "max_fetches/repo")
	b.ReportMetric(float64(heapBefore)/(1<<20), "heap_before_MiB")
	b.ReportMetric(float64(heapAfter)/(1<<20), "heap_after_MiB")
}

// bareHook is the baseline: read the body, check its signature, answer.
func bareHook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	mac := hmac.New(sha256.New, []byte(hookToken))
	mac.Write(body)
	sig, _ := hex.DecodeString(r.Header.Get("X-Hub-Signature-256")[len("sha256="):])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		http.Error(w, "refused", http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// burst collects the latencies and the wall time of bursts.
type burst struct {
	latencies []time.Duration
	wall      time.Duration
}

func (b *burst) add(lat []time.Duration, wall time.Duration) {
	b.latencies = append(b.latencies, lat...)
	b.wall += wall
}

func (b *burst) rate() float64 { return float64(len(b.latencies)) / b.wall.Seconds() }

func (b *burst) quantile(q float64) float64 {
	s := slices.Clone(b.latencies)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(q*float64(len(s))))].Microseconds()) / 1000
}

// fire posts one request to each of urls from clients goroutines and returns each
// request's time and the burst's; every answer must be 200.
func fire(g Gomega, hc *http.Client, urls []string, h http.Header, body []byte, clients int) ([]time.Duration, time.Duration) {
	lat := make([]time.Duration, len(urls))
	codes := make([]int, len(urls))
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for i := range next {
				req, _ := http.NewRequest(http.MethodPost, urls[i], bytes.NewReader(body))
				req.Header = h.Clone()
				t := time.Now()
				resp, err := hc.Do(req)
				lat[i] = time.Since(t)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					codes[i] = resp.StatusCode
				}
			}
		})
	}
	for i := range urls {
		next <- i
	}
	close(next)
	wg.Wait()
	wall := time.Since(start)
	for i, c := range codes {
		g.Expect(c).To(Equal(http.StatusOK), "request %d to %s", i, urls[i])
	}
	return lat, wall
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
