package controllers_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/notify"
	"github.com/landfall-dev/landfall/test/gitserver"
)

func getNotification(g Gomega, n *landfallv1.Notification) *landfallv1.Notification {
	got := &landfallv1.Notification{}
	g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(n), got)).To(Succeed())
	return got
}

// TestNotificationNewRevision: a Repository's new revision reaches a Slack-format target
// as a signed Slack message; a Notification of another namespace, and one selecting only
// Applications, get nothing. The status counts the delivery and never shows the address.
func TestNotificationNewRevision(t *testing.T) {
	g := NewWithT(t)
	got := make(chan map[string]any, 16)
	var bodies []string
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get(notify.SignatureHeader) != "sha256="+hmacHex("k", b) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		bodies = append(bodies, string(b))
		got <- m
	}))
	defer slack.Close()
	address := slack.URL + "/services/T0/B0/secret-path"

	srv := gitserver.New(t, gitserver.Options{})
	commit := srv.Commit(t, "main", map[string]string{"README": "1"})
	ns, other := newNamespace(t), newNamespace(t)
	for _, n := range []string{ns, other} {
		createSecret(t, n, "slack", map[string]string{"address": address, "hmacKey": "k"})
	}
	notification := func(namespace, name string, objects []landfallv1.ObjectSelector) *landfallv1.Notification {
		n := &landfallv1.Notification{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
			Spec: landfallv1.NotificationSpec{Objects: objects, Events: []landfallv1.NotificationEvent{"NewRevision"},
				Targets: []landfallv1.NotificationTarget{{Name: "chat", Type: landfallv1.TargetSlack,
					SecretRef: landfallv1.LocalObjectReference{Name: "slack"}}}}}
		g.Expect(k8s.Create(context.Background(), n)).To(Succeed())
		t.Cleanup(func() { _ = k8s.Delete(context.Background(), n) })
		return n
	}
	n := notification(ns, "chat", []landfallv1.ObjectSelector{{Kind: "Repository", Name: "conf*"}})
	apps := notification(ns, "apps", []landfallv1.ObjectSelector{{Kind: "Application"}})
	elsewhere := notification(other, "chat", nil)
	for _, x := range []*landfallv1.Notification{n, apps, elsewhere} {
		g.Eventually(func(g Gomega) {
			st := getNotification(g, x).Status
			g.Expect(st.Targets).To(HaveLen(1))
			g.Expect(st.Targets[0].State).To(Equal(landfallv1.TargetHealthy))
		}, time.Minute, 50*time.Millisecond).Should(Succeed())
	}
	createSecret(t, ns, "git", map[string]string{"username": srv.Username, "password": srv.Password})
	createRepository(t, ns, "config", landfallv1.RepositorySpec{URL: srv.URL, Ref: landfallv1.GitRef{Branch: "main"},
		Insecure: true, Interval: hourly, SecretRef: &landfallv1.LocalObjectReference{Name: "git"}})

	var m map[string]any
	g.Eventually(got, time.Minute).Should(Receive(&m))
	g.Expect(m["text"]).To(Equal("NewRevision: Repository " + ns + "/config"))
	att := m["attachments"].([]any)[0].(map[string]any)
	g.Expect(att["text"]).To(Equal("stored revision main@sha1:" + commit))
	g.Consistently(got, 2*time.Second).ShouldNot(Receive(), "one event, once; nothing from the other Notifications")
	g.Eventually(func(g Gomega) {
		st := getNotification(g, n).Status
		g.Expect(st.Targets[0].Delivered).To(Equal(int64(1)))
		g.Expect(st.Targets[0].LastDelivered).NotTo(BeNil())
		for _, x := range []*landfallv1.Notification{apps, elsewhere} {
			g.Expect(getNotification(g, x).Status.Targets[0].Delivered).To(BeZero())
		}
	}, time.Minute, 50*time.Millisecond).Should(Succeed())
	raw, err := json.Marshal(getNotification(g, n))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(raw)).NotTo(ContainSubstring("secret-path"))
	g.Expect(strings.Join(bodies, "")).NotTo(ContainSubstring("secret-path"))
}

// TestNotificationBadSpec: a target whose Secret is missing is NotConfigured and Ready is
// False naming it, the other target runs; a bad label selector stalls the Notification.
func TestNotificationBadSpec(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	createSecret(t, ns, "hook", map[string]string{"address": "http://127.0.0.1:1/x"})
	n := &landfallv1.Notification{ObjectMeta: metav1.ObjectMeta{Name: "n", Namespace: ns},
		Spec: landfallv1.NotificationSpec{Targets: []landfallv1.NotificationTarget{
			{Name: "hook", Type: landfallv1.TargetWebhook, SecretRef: landfallv1.LocalObjectReference{Name: "hook"}},
			{Name: "forge", Type: landfallv1.TargetGitea, SecretRef: landfallv1.LocalObjectReference{Name: "missing"}},
		}}}
	g.Expect(k8s.Create(context.Background(), n)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := getNotification(g, n)
		g.Expect(got.Status.Targets).To(HaveLen(2))
		g.Expect(got.Status.Targets[0].State).To(Equal(landfallv1.TargetHealthy))
		g.Expect(got.Status.Targets[1].State).To(Equal(landfallv1.TargetNotConfigured))
		g.Expect(got.Status.Conditions).To(ContainElement(And(HaveField("Type", "Ready"), HaveField("Status", metav1.ConditionFalse),
			HaveField("Reason", landfallv1.ReasonSecretNotFound), HaveField("Message", ContainSubstring("forge: Secret missing not found")))))
	}, time.Minute, 50*time.Millisecond).Should(Succeed())

	bad := &landfallv1.Notification{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: ns},
		Spec: landfallv1.NotificationSpec{
			Objects: []landfallv1.ObjectSelector{{LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "app", Operator: "Sometimes"}}}}},
			Targets: []landfallv1.NotificationTarget{{Name: "hook", Type: landfallv1.TargetWebhook,
				SecretRef: landfallv1.LocalObjectReference{Name: "hook"}}}}}
	g.Expect(k8s.Create(context.Background(), bad)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := getNotification(g, bad)
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		g.Expect(got.Status.Conditions).To(ContainElement(And(HaveField("Type", "Stalled"), HaveField("Status", metav1.ConditionTrue),
			HaveField("Reason", landfallv1.ReasonInvalidSpec))))
	}, time.Minute, 50*time.Millisecond).Should(Succeed())
}
