package controllers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/notify"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// BenchmarkNotificationBurst measures the webhook-to-revision latency of
// BenchmarkWebhookToRevision while a Notification of the same namespace has 1,000 events
// queued for a slow target (each delivery takes 200 ms, two a second at most): "idle" has
// the Notification and no backlog, the baseline; "burst" publishes the 1,000 events at
// once first. The reconciles publish their own NewRevision events into the same queue.
// One op is 20 pushes; p50_ms and p99_ms are over every push; queued is the backlog left
// at the end.
func BenchmarkNotificationBurst(b *testing.B) {
	for _, burst := range []int{0, 1000} {
		name := "idle"
		if burst > 0 {
			name = "burst"
		}
		b.Run(name, func(b *testing.B) { benchmarkBurst(b, burst) })
	}
}

func benchmarkBurst(b *testing.B, burst int) {
	const pushes = 20
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(200 * time.Millisecond):
		case <-r.Context().Done():
		}
	}))
	b.Cleanup(slow.Close)
	srv := gitserver.New(b, gitserver.Options{})
	srv.Commit(b, "main", map[string]string{"README": "0"})
	ns := newNamespace(b)
	createSecret(b, ns, "git", map[string]string{"username": srv.Username, "password": srv.Password})
	createSecret(b, ns, "hook", map[string]string{"token": hookToken})
	createSecret(b, ns, "slow", map[string]string{"address": slow.URL})
	n := &landfallv1.Notification{ObjectMeta: metav1.ObjectMeta{Name: "slow", Namespace: ns},
		Spec: landfallv1.NotificationSpec{Targets: []landfallv1.NotificationTarget{{Name: "slow", Type: landfallv1.TargetWebhook,
			QueueLimit: 10000, SecretRef: landfallv1.LocalObjectReference{Name: "slow"}}}}}
	if err := k8s.Create(context.Background(), n); err != nil {
		b.Fatal(err)
	}
	NewWithT(b).Eventually(func() []landfallv1.NotificationTargetStatus {
		got := &landfallv1.Notification{}
		_ = k8s.Get(context.Background(), client.ObjectKeyFromObject(n), got)
		return got.Status.Targets
	}, time.Minute, 50*time.Millisecond).Should(HaveLen(1))
	for i := range burst {
		dispatcher.Publish(notify.Event{Kind: notify.Synced, Object: notify.Object{Kind: "Application", Namespace: ns, Name: "burst"},
			Environment: "e", Revision: fmt.Sprintf("main@sha1:%040d", i), Message: "burst", Time: time.Now()})
	}
	repo := createRepository(b, ns, "config", landfallv1.RepositorySpec{
		URL: srv.URL, Ref: landfallv1.GitRef{Branch: "main"}, Insecure: true, Interval: hourly,
		SecretRef:        &landfallv1.LocalObjectReference{Name: "git"},
		WebhookSecretRef: &landfallv1.LocalObjectReference{Name: "hook"},
	})
	timePushes(b, srv, repo, pushes)
	if st := dispatcher.Stats(ns, "slow"); len(st) == 1 {
		b.ReportMetric(float64(st[0].Queued), "queued")
	}
	_ = k8s.Delete(context.Background(), n)
}
