package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/notify"
	"github.com/landfall-dev/landfall/test/ports"
)

// hookReceiver is a webhook target on loopback that checks each body's HMAC and records
// the events in the order they came; it can go down (nothing listens: connections are
// refused) and come back on the same address.
type hookReceiver struct {
	addr string
	key  []byte

	mu      sync.Mutex
	got     []notify.Event
	bad     int
	srv     *http.Server
	stopped chan struct{}
}

func newHookReceiver(t *testing.T, key string) *hookReceiver {
	addr, err := ports.Addr()
	must(t, err)
	r := &hookReceiver{addr: addr, key: []byte(key)}
	r.up(t)
	t.Cleanup(r.down)
	return r
}

func (r *hookReceiver) url() string { return "http://" + r.addr + "/hook" }

func (r *hookReceiver) up(t *testing.T) {
	t.Helper()
	var lis net.Listener
	// The port was free and is ours (test/ports reserves it); the kernel may take a moment to
	// let go of the last listener.
	NewWithT(t).Eventually(func() error {
		var err error
		lis, err = net.Listen("tcp", r.addr)
		return err
	}, timeout, poll).Should(Succeed())
	r.mu.Lock()
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	r.stopped = make(chan struct{})
	srv, stopped := r.srv, r.stopped
	r.mu.Unlock()
	go func() { _ = srv.Serve(lis); close(stopped) }()
}

func (r *hookReceiver) down() {
	r.mu.Lock()
	srv, stopped := r.srv, r.stopped
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
		<-stopped
	}
}

func (r *hookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	mac := hmac.New(sha256.New, r.key)
	mac.Write(body)
	var ev notify.Event
	r.mu.Lock()
	defer r.mu.Unlock()
	if req.Header.Get(notify.SignatureHeader) != "sha256="+hex.EncodeToString(mac.Sum(nil)) || json.Unmarshal(body, &ev) != nil {
		r.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	r.got = append(r.got, ev)
}

// events returns "<kind> <revision>" of every event received, in order, and how many
// requests failed the signature check.
func (r *hookReceiver) events() ([]string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.got))
	for i, ev := range r.got {
		out[i] = string(ev.Kind) + " " + ev.Revision
	}
	return out, r.bad
}

// webhookNotification creates a Notification of the revision, sync and promotion events
// of f.ns with one generic webhook target at r, its queue bounded by limit.
func webhookNotification(t *testing.T, f *fixture, name string, r *hookReceiver, limit int32) *landfallv1.Notification {
	t.Helper()
	ctx := context.Background()
	must(t, f.e.k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name + "-target", Namespace: f.ns},
		StringData: map[string]string{"address": r.url(), "hmacKey": string(r.key)}}))
	n := &landfallv1.Notification{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns},
		Spec: landfallv1.NotificationSpec{
			Events: []landfallv1.NotificationEvent{"NewRevision", "Synced", "Promoted"},
			Targets: []landfallv1.NotificationTarget{{Name: "hook", Type: landfallv1.TargetWebhook, QueueLimit: limit,
				SecretRef: landfallv1.LocalObjectReference{Name: name + "-target"}}},
		},
	}
	must(t, f.e.k8s.Create(ctx, n))
	return n
}

func targetStatus(g Gomega, f *fixture, n *landfallv1.Notification) landfallv1.NotificationTargetStatus {
	got := &landfallv1.Notification{}
	g.Expect(f.e.k8s.Get(context.Background(), client.ObjectKeyFromObject(n), got)).To(Succeed())
	g.Expect(got.Status.Targets).To(HaveLen(1))
	return got.Status.Targets[0]
}

// TestNotificationTargetDown: two webhook targets go down (nothing listens) for at least
// 30 s while three revisions roll out, nine events. The target whose queue holds 100 turns
// Dead, keeps all nine, and once it is back gets them in order, each signed; the one whose
// queue holds 3 drops the six oldest, counts them in its status and metric, and gets the
// last three. Statuses never show the targets' addresses.
func TestNotificationTargetDown(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	e := shared(t)
	f := newFixture(t, e, webApp("apps/web", image("v1"), 1))
	app := f.application(t, "web", "apps/web", []landfallv1.Environment{{Name: "staging", Namespace: f.ns + "-staging"}}, nil)
	g.Eventually(func(g Gomega) {
		expectCompleted(g, f.get(g, app), "staging", revisionOf(f.srv.Head(t, "refs/heads/main")))
	},
		rolloutTimeout, poll).Should(Succeed())
	big, small := newHookReceiver(t, "key-big"), newHookReceiver(t, "key-small")
	nBig, nSmall := webhookNotification(t, f, "big", big, 100), webhookNotification(t, f, "small", small, 3)
	for _, n := range []*landfallv1.Notification{nBig, nSmall} {
		g.Eventually(func(g Gomega) { g.Expect(targetStatus(g, f, n).State).To(Equal(landfallv1.TargetHealthy)) }, timeout, poll).
			Should(Succeed())
	}

	big.down()
	small.down()
	downAt := time.Now()
	var want []string
	for _, tag := range []string{"v2", "v3", "v4"} {
		rev := f.pushImage(t, "apps/web", tag, 1)
		g.Eventually(func(g Gomega) { expectCompleted(g, f.get(g, app), "staging", rev) }, rolloutTimeout, poll).Should(Succeed())
		want = append(want, "NewRevision "+rev, "Synced "+rev, "Promoted "+rev)
	}
	g.Eventually(func(g Gomega) {
		b, s := targetStatus(g, f, nBig), targetStatus(g, f, nSmall)
		g.Expect(b.State).To(Equal(landfallv1.TargetDead))
		g.Expect(b.Queued).To(Equal(int32(9)))
		g.Expect(b.LastError).To(ContainSubstring("connection refused"))
		g.Expect(b.LastError).NotTo(ContainSubstring(big.addr))
		g.Expect(s.Queued).To(Equal(int32(3)))
		g.Expect(s.Dropped).To(Equal(int64(6)))
		g.Expect(time.Since(downAt)).To(BeNumerically(">=", 30*time.Second), "down for 30 s at least")
	}, 3*timeout, poll).Should(Succeed())
	got := &landfallv1.Notification{}
	g.Expect(e.k8s.Get(context.Background(), client.ObjectKeyFromObject(nBig), got)).To(Succeed())
	g.Expect(got.Status.Conditions).To(ContainElement(And(
		HaveField("Type", landfallv1.ConditionReady), HaveField("Reason", landfallv1.ReasonDeliveryFailed))))

	big.up(t)
	small.up(t)
	g.Eventually(func(g Gomega) {
		evs, bad := big.events()
		g.Expect(bad).To(BeZero())
		g.Expect(evs).To(Equal(want))
		evs, bad = small.events()
		g.Expect(bad).To(BeZero())
		g.Expect(evs).To(Equal(want[6:]))
	}, 2*timeout, poll).Should(Succeed())
	g.Eventually(func(g Gomega) {
		b := targetStatus(g, f, nBig)
		g.Expect(b.State).To(Equal(landfallv1.TargetHealthy))
		g.Expect(b.Queued).To(BeZero())
		g.Expect(b.Delivered).To(Equal(int64(9)))
		v, err := e.ctrl.metric("landfall_notification_dropped_total", `namespace="`+f.ns+`"`, `notification="small"`, `target="hook"`)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(v).To(Equal(6.0))
	}, timeout, poll).Should(Succeed())
}
