package controllers_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/controllers"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// standby is a second replica: a manager whose leader Lease someone else holds, so it never
// leads. Every request it sends to the apiserver is counted by method and path.
type standby struct {
	webhookAddr string
	probeAddr   string
	requests    *requestLog
}

// startStandby runs Setup on a manager that cannot win its Lease, until the test ends.
func startStandby(t *testing.T) *standby {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ns := newNamespace(t)
	// Held for an hour by another identity: this replica waits for it the whole test.
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "landfall-standby-test", Namespace: ns},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("the-leader"), LeaseDurationSeconds: ptr.To[int32](3600),
			RenewTime: &metav1.MicroTime{Time: time.Now()}, AcquireTime: &metav1.MicroTime{Time: time.Now()}}}
	if err := k8s.Create(ctx, lease); err != nil {
		t.Fatal(err)
	}
	s := &standby{requests: &requestLog{}}
	cfg := rest.CopyConfig(restConfig)
	cfg.Wrap(s.requests.wrap)
	scheme, err := controllers.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	if s.webhookAddr, err = freeAddr(); err != nil {
		t.Fatal(err)
	}
	if s.probeAddr, err = freeAddr(); err != nil {
		t.Fatal(err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: s.probeAddr,
		LeaderElection:         true, LeaderElectionID: lease.Name, LeaderElectionNamespace: ns,
		// The suite's manager registered the same controllers in this process.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := controllers.Setup(mgr, controllers.Options{Concurrency: 1, CacheDir: t.TempDir(), WebhookAddr: s.webhookAddr}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "standby manager:", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// post sends one signed GitHub push for repo to this replica.
func (s *standby) post(repo *landfallv1.Repository) (int, error) {
	body := []byte(githubPushBody)
	req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("http://%s/hooks/%s/%s", s.webhookAddr, repo.Namespace, repo.Name),
		bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header = githubPush(hookToken, body)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, resp.Body.Close()
}

// requestLog counts the requests a rest.Config's client sends, watches aside.
type requestLog struct {
	mu   sync.Mutex
	seen []string // "METHOD path"
}

func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.URL.Query().Get("watch") != "true" {
			l.mu.Lock()
			l.seen = append(l.seen, req.Method+" "+req.URL.Path)
			l.mu.Unlock()
		}
		return rt.RoundTrip(req)
	})
}

// count returns how many requests after mark had method and a path containing part.
func (l *requestLog) count(mark int, method, part string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.seen[mark:] {
		if strings.HasPrefix(r, method+" ") && strings.Contains(r, part) {
			n++
		}
	}
	return n
}

func (l *requestLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen)
}

// hookedStandby makes a Repository with a webhook Secret and a standby replica, and waits
// until the standby is ready.
func hookedStandby(t *testing.T) (*gitserver.Server, *landfallv1.Repository, *standby) {
	srv := gitserver.New(t, gitserver.Options{})
	srv.Commit(t, "main", map[string]string{"README": "one"})
	repo := hookedRepository(t, srv, true)
	s := startStandby(t)
	NewWithT(t).Eventually(func() int { return httpGet("http://" + s.probeAddr + "/readyz") }, timeout, poll).
		Should(Equal(http.StatusOK))
	return srv, repo, s
}

// TestWebhookOnStandby: a replica that does not lead takes signed webhooks as the leader
// would and asks the leader for the fetch through the Repository. Its readiness says it
// can serve; a wrong signature is refused there too.
func TestWebhookOnStandby(t *testing.T) {
	g := NewWithT(t)
	srv, repo, s := hookedStandby(t)
	g.Expect(httpGet("http://"+s.probeAddr+"/readyz/webhook")).To(Equal(http.StatusOK), "readiness includes the webhook receiver")
	g.Expect(httpGet("http://"+s.probeAddr+"/readyz/informers")).To(Equal(http.StatusOK), "readiness includes synced caches")

	body := []byte(githubPushBody)
	req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("http://%s/hooks/%s/%s", s.webhookAddr, repo.Namespace, repo.Name),
		bytes.NewReader(body))
	g.Expect(err).NotTo(HaveOccurred())
	req.Header = githubPush("not-the-key", body)
	resp, err := http.DefaultClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized), "a wrong signature is refused on the standby")

	second := srv.Commit(t, "main", map[string]string{"README": "two"})
	g.Expect(s.post(repo)).To(Equal(http.StatusOK))
	g.Eventually(func(g Gomega) string { return repositoryStatus(g, repo).Revision }, timeout, poll).
		Should(Equal("main@sha1:"+second), "the leader fetched what the standby was told of")
}

// TestWebhookOnStandbyCoalesces: a burst of deliveries to a standby costs no Secret read and
// one request for a fetch while that request is outstanding; once the leader has handled
// it, one more request follows for the deliveries it may have missed.
func TestWebhookOnStandbyCoalesces(t *testing.T) {
	g := NewWithT(t)
	srv, repo, s := hookedStandby(t)
	// Suspended, the leader handles no request: the first stays outstanding.
	setSuspend(g, repo, true)
	second := srv.Commit(t, "main", map[string]string{"README": "two"})
	g.Expect(s.post(repo)).To(Equal(http.StatusOK))
	var first string
	g.Eventually(func(g Gomega) string { first = requestedAt(g, repo); return first }, timeout, poll).ShouldNot(BeEmpty())

	mark := s.requests.len()
	var wg sync.WaitGroup
	var accepted atomic.Int32
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, err := s.post(repo); err == nil && code == http.StatusOK {
				accepted.Add(1)
			}
		}()
	}
	wg.Wait()
	g.Expect(accepted.Load()).To(Equal(int32(20)), "every delivery of the burst is accepted")
	g.Consistently(func(g Gomega) string { return requestedAt(g, repo) }, time.Second, poll).Should(Equal(first),
		"no second request while the first is outstanding")
	g.Expect(s.requests.count(mark, http.MethodGet, "/secrets")).To(BeZero(), "the webhook Secret is read from the cache")
	g.Expect(s.requests.count(mark, http.MethodGet, "/repositories")).To(BeZero(), "the Repository is read from the cache")

	setSuspend(g, repo, false)
	g.Eventually(func(g Gomega) {
		st := repositoryStatus(g, repo)
		now := requestedAt(g, repo)
		g.Expect(now).NotTo(Equal(first), "one more request after the first was handled")
		g.Expect(st.LastHandledReconcileAt).To(Equal(now))
		g.Expect(st.Revision).To(Equal("main@sha1:" + second))
	}, timeout, poll).Should(Succeed())
	g.Expect(s.requests.count(mark, http.MethodPatch, "/repositories/"+repo.Name)).To(Equal(1),
		"20 deliveries, one request for a fetch after the outstanding one")
}

func requestedAt(g Gomega, repo *landfallv1.Repository) string {
	got := &landfallv1.Repository{}
	g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(repo), got)).To(Succeed())
	return got.Annotations[landfallv1.AnnotationReconcileRequestedAt]
}

func setSuspend(g Gomega, repo *landfallv1.Repository, suspend bool) {
	got := &landfallv1.Repository{}
	g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(repo), got)).To(Succeed())
	patch := client.MergeFrom(got.DeepCopy())
	got.Spec.Suspend = suspend
	g.Expect(k8s.Patch(context.Background(), got, patch)).To(Succeed())
}

func httpGet(url string) int {
	hc := &http.Client{Timeout: 2 * time.Second}
	resp, err := hc.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
