package controllers_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

const hookToken = "hook-secret-token"

// newRepository creates a Repository (with credentials and webhook Secrets) for srv.
func newRepository(t *testing.T, ns string, srv *gitserver.Server, interval time.Duration) *landfallv1.Repository {
	t.Helper()
	ctx := context.Background()
	secrets := []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "git", Namespace: ns},
			StringData: map[string]string{"username": srv.Username, "password": srv.Password}},
		{ObjectMeta: metav1.ObjectMeta{Name: "hook", Namespace: ns}, StringData: map[string]string{"token": hookToken}},
	}
	for _, s := range secrets {
		if err := k8s.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	repo := &landfallv1.Repository{
		ObjectMeta: metav1.ObjectMeta{Name: "config", Namespace: ns},
		Spec: landfallv1.RepositorySpec{
			URL: srv.URL, Ref: landfallv1.GitRef{Branch: "main"}, Insecure: true,
			Interval:         &metav1.Duration{Duration: interval},
			SecretRef:        &landfallv1.LocalObjectReference{Name: "git"},
			WebhookSecretRef: &landfallv1.LocalObjectReference{Name: "hook"},
		},
	}
	if err := k8s.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	return repo
}

func revisionOf(g Gomega, repo *landfallv1.Repository) string {
	got := &landfallv1.Repository{}
	g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(repo), got)).To(Succeed())
	return got.Status.Revision
}

// sendHook posts a GitHub push event signed with key and returns the status code.
func sendHook(t *testing.T, repo *landfallv1.Repository, key string, body []byte) int {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	url := "http://" + webhookAddr + "/hooks/" + repo.Namespace + "/" + repo.Name
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

const pushBody = `{"ref":"refs/heads/main","after":"0000000000000000000000000000000000000000","repository":{"clone_url":"http://example.invalid/x.git"}}`

func TestRepositoryWebhookAndPolling(t *testing.T) {
	g := NewWithT(t)
	srv := gitserver.New(t, gitserver.Options{})
	first := srv.Commit(t, "main", map[string]string{"README": "one"})
	ns := newNamespace(t)
	repo := newRepository(t, ns, srv, time.Hour)
	g.Eventually(func(g Gomega) string { return revisionOf(g, repo) }, timeout, poll).Should(Equal("main@sha1:" + first))

	// A push and a signed webhook: the new revision within the hour-long poll interval.
	second := srv.Commit(t, "main", map[string]string{"README": "two"})
	g.Expect(sendHook(t, repo, hookToken, []byte(pushBody))).To(Equal(http.StatusOK))
	g.Eventually(func(g Gomega) string { return revisionOf(g, repo) }, timeout, poll).Should(Equal("main@sha1:" + second))

	// A wrong signature: 401 and no remote operation at all.
	checks, packs := srv.Advertisements(), srv.UploadPacks()
	g.Expect(sendHook(t, repo, "wrong-key", []byte(pushBody))).To(Equal(http.StatusUnauthorized))
	// A 2 MiB body: 413.
	g.Expect(sendHook(t, repo, hookToken, bytes.Repeat([]byte("x"), 2<<20))).To(Equal(http.StatusRequestEntityTooLarge))
	g.Expect(sendHook(t, repo, hookToken, []byte("{not json"))).To(Equal(http.StatusBadRequest))
	g.Consistently(func() int64 { return srv.Advertisements() - checks + srv.UploadPacks() - packs }, time.Second, poll).
		Should(BeZero(), "refused webhooks cause no Git traffic")

	// An unchanged remote: a webhook costs one remote check and no fetch.
	g.Expect(sendHook(t, repo, hookToken, []byte(pushBody))).To(Equal(http.StatusOK))
	g.Eventually(srv.Advertisements, timeout, poll).Should(BeNumerically(">", checks))
	g.Consistently(srv.UploadPacks, time.Second, poll).Should(Equal(packs))
}

func TestRepositoryPollsAtInterval(t *testing.T) {
	g := NewWithT(t)
	srv := gitserver.New(t, gitserver.Options{})
	srv.Commit(t, "main", map[string]string{"README": "one"})
	repo := newRepository(t, newNamespace(t), srv, 2*time.Second)
	g.Eventually(func(g Gomega) string { return revisionOf(g, repo) }, timeout, poll).ShouldNot(BeEmpty())
	next := srv.Commit(t, "main", map[string]string{"README": "two"})
	g.Eventually(func(g Gomega) string { return revisionOf(g, repo) }, timeout, poll).Should(Equal("main@sha1:" + next))
}

func TestRepositoryWrongPasswordKeepsRevision(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	srv := gitserver.New(t, gitserver.Options{})
	first := srv.Commit(t, "main", map[string]string{"README": "one"})
	repo := newRepository(t, newNamespace(t), srv, 2*time.Second)
	g.Eventually(func(g Gomega) string { return revisionOf(g, repo) }, timeout, poll).Should(Equal("main@sha1:" + first))

	secret := &corev1.Secret{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: repo.Namespace, Name: "git"}, secret)).To(Succeed())
	secret.Data["password"] = []byte("not-the-password-1234")
	g.Expect(k8s.Update(ctx, secret)).To(Succeed())
	srv.Commit(t, "main", map[string]string{"README": "two"})

	g.Eventually(func(g Gomega) {
		got := &landfallv1.Repository{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(repo), got)).To(Succeed())
		stalled := apimeta.FindStatusCondition(got.Status.Conditions, landfallv1.ConditionStalled)
		g.Expect(stalled).NotTo(BeNil())
		g.Expect(stalled.Reason).To(Equal(landfallv1.ReasonAuthenticationFailed))
		g.Expect(stalled.Message).To(ContainSubstring("authentication failed"))
		g.Expect(stalled.Message).NotTo(ContainSubstring("not-the-password"))
		g.Expect(apimeta.IsStatusConditionFalse(got.Status.Conditions, landfallv1.ConditionReady)).To(BeTrue())
		g.Expect(got.Status.Revision).To(Equal("main@sha1:"+first), "the last good revision stays")
	}, timeout, poll).Should(Succeed())

	events := &corev1.EventList{}
	g.Expect(k8s.List(ctx, events, client.InNamespace(repo.Namespace))).To(Succeed())
	var warned bool
	for _, e := range events.Items {
		g.Expect(e.Message).NotTo(ContainSubstring("not-the-password"))
		warned = warned || (e.Reason == landfallv1.ReasonAuthenticationFailed && strings.Contains(e.Message, "authentication failed"))
	}
	g.Expect(warned).To(BeTrue(), "a Warning Event says authentication failed")
}
