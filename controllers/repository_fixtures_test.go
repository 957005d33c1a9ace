package controllers_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// Fixtures shared by the Repository and webhook tests and benchmarks. They take testing.TB
// so benchmarks use them too, and never call Fatal from another goroutine: postWebhook
// returns its error instead.

// createSecret makes a Secret with string data in ns.
func createSecret(tb testing.TB, ns, name string, data map[string]string) {
	tb.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: data}
	if err := k8s.Create(context.Background(), s); err != nil {
		tb.Fatal(err)
	}
}

// createRepository makes a Repository and deletes it when the test ends, so its polls do
// not outlive the Git server they point at.
func createRepository(tb testing.TB, ns, name string, spec landfallv1.RepositorySpec) *landfallv1.Repository {
	tb.Helper()
	repo := &landfallv1.Repository{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: spec}
	if err := k8s.Create(context.Background(), repo); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := k8s.Delete(context.Background(), repo); err != nil && !apierrors.IsNotFound(err) {
			tb.Error(err)
		}
	})
	return repo
}

// hourly is a poll interval long enough that only webhooks and spec changes cause fetches
// during a test.
var hourly = &metav1.Duration{Duration: time.Hour}

// repositoryStatus reads the Repository's current status from the apiserver.
func repositoryStatus(g Gomega, repo *landfallv1.Repository) landfallv1.RepositoryStatus {
	got := &landfallv1.Repository{}
	g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(repo), got)).To(Succeed())
	return got.Status
}

// warningEvents returns the messages of the Warning Events about the Repository.
func warningEvents(g Gomega, repo *landfallv1.Repository, reason string) []string {
	events := &corev1.EventList{}
	g.Expect(k8s.List(context.Background(), events, client.InNamespace(repo.Namespace))).To(Succeed())
	var msgs []string
	for _, e := range events.Items {
		if e.Type == corev1.EventTypeWarning && e.Reason == reason && e.InvolvedObject.Name == repo.Name {
			msgs = append(msgs, e.Message)
		}
	}
	return msgs
}

// webhookURL is where a Git host would send the Repository's webhooks.
func webhookURL(repo *landfallv1.Repository) string {
	return fmt.Sprintf("http://%s/hooks/%s/%s", webhookAddr, repo.Namespace, repo.Name)
}

// postWebhook sends one webhook request and returns the status code.
func postWebhook(repo *landfallv1.Repository, header http.Header, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, webhookURL(repo), bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header = header
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, resp.Body.Close()
}

func hmacHex(key string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// The headers each provider sends with a push event, as their documentation describes.
func githubPush(key string, body []byte) http.Header {
	return http.Header{"X-Github-Event": {"push"}, "X-Hub-Signature-256": {"sha256=" + hmacHex(key, body)}}
}

func gitlabPush(token string) http.Header {
	return http.Header{"X-Gitlab-Event": {"Push Hook"}, "X-Gitlab-Token": {token}}
}

func giteaPush(key string, body []byte) http.Header {
	return http.Header{"X-Gitea-Event": {"push"}, "X-Gitea-Signature": {hmacHex(key, body)}}
}

// Push payloads, trimmed to what the receiver reads; the revision never comes from them.
const (
	githubPushBody = `{"ref":"refs/heads/main","repository":{"clone_url":"https://git.example.invalid/acme/config.git"}}`
	gitlabPushBody = `{"object_kind":"push","ref":"refs/heads/main","project":{"git_http_url":"https://git.example.invalid/acme/config.git"}}`
	giteaPushBody  = `{"ref":"refs/heads/main","repository":{"clone_url":"https://git.example.invalid/acme/config.git"}}`
)
