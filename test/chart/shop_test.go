package chart_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// goodTag is the web image's usual tag; kwok makes its pods Ready, unlike "bad".
const goodTag = "1.0.0"

// hookToken signs the webhooks of the shop's Repository.
const hookToken = "chart-test-hook-token"

// shopApp is a small application in a real Git repository — a Deployment, a Service and a
// ConfigMap — and the Repository and Application that deploy it to one namespace.
type shopApp struct {
	f      *fixture
	git    *gitserver.Server
	repo   client.ObjectKey
	app    client.ObjectKey
	target string
}

// newShopApp commits the application, stores the Git credentials and the webhook token in
// Secrets (which the controller must be allowed to read) and creates the Repository and the
// Application.
func newShopApp(t *testing.T, f *fixture, namespace, target string) *shopApp {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	s := &shopApp{f: f, git: gitserver.New(t, gitserver.Options{}),
		repo: client.ObjectKey{Namespace: namespace, Name: "shop"}, app: client.ObjectKey{Namespace: namespace, Name: "shop"}, target: target}
	s.commit(t, "hello")

	g.Expect(f.admin.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "shop-git"},
		StringData: map[string]string{"username": s.git.Username, "password": s.git.Password},
	})).To(Succeed())
	g.Expect(f.admin.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "shop-hook"},
		StringData: map[string]string{"token": hookToken},
	})).To(Succeed())
	g.Expect(f.admin.Create(ctx, &landfallv1.Repository{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: s.repo.Name},
		Spec: landfallv1.RepositorySpec{
			URL: s.git.URL, Ref: landfallv1.GitRef{Branch: "main"}, Insecure: true,
			SecretRef:        &landfallv1.LocalObjectReference{Name: "shop-git"},
			WebhookSecretRef: &landfallv1.LocalObjectReference{Name: "shop-hook"},
		},
	})).To(Succeed())
	s.createApplication(t, s.app.Name, target)
	return s
}

// addApplication deploys the same repository to another namespace.
func (s *shopApp) addApplication(t *testing.T, name, target string) *shopApp {
	t.Helper()
	other := *s
	other.app, other.target = client.ObjectKey{Namespace: s.app.Namespace, Name: name}, target
	other.createApplication(t, name, target)
	return &other
}

func (s *shopApp) createApplication(t *testing.T, name, target string) {
	t.Helper()
	NewWithT(t).Expect(s.f.admin.Create(context.Background(), &landfallv1.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.app.Namespace, Name: name},
		Spec: landfallv1.ApplicationSpec{
			RepositoryRef: landfallv1.LocalObjectReference{Name: s.repo.Name},
			Path:          "shop",
			Environments:  []landfallv1.Environment{{Name: "staging", Namespace: target}},
			Prune:         true,
		},
	})).To(Succeed())
}

// commit pushes the application with the ConfigMap's greeting and the good image, and
// returns the commit.
func (s *shopApp) commit(t *testing.T, greeting string) string {
	t.Helper()
	return s.commitImage(t, greeting, goodTag)
}

// commitImage pushes the application with the ConfigMap's greeting and the web image's tag,
// and returns the commit. The Deployment's progress deadline is short so that a tag whose
// pods never become Ready is reported Degraded in seconds, not after the default ten minutes.
func (s *shopApp) commitImage(t *testing.T, greeting, tag string) string {
	t.Helper()
	return s.git.Commit(t, "main", map[string]string{
		"shop/deployment.yaml": fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  progressDeadlineSeconds: 10
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: %s
        envFrom: [{configMapRef: {name: greeting}}]
`, webImage(tag)),
		"shop/service.yaml": `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`,
		"shop/configmap.yaml": greetingFile(greeting),
	})
}

func webImage(tag string) string { return "registry.example/shop/web:" + tag }

func greetingFile(greeting string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: greeting}
data: {greeting: %q}
`, greeting)
}

// requestFetch asks the Repository to fetch now, as `landfall sync` or a webhook would.
func (s *shopApp) requestFetch(t *testing.T) {
	t.Helper()
	s.annotate(t, &landfallv1.Repository{}, s.repo, landfallv1.AnnotationReconcileRequestedAt)
}

// requestSync asks the Application to sync now.
func (s *shopApp) requestSync(t *testing.T) {
	t.Helper()
	s.annotate(t, &landfallv1.Application{}, s.app, landfallv1.AnnotationSyncRequestedAt)
}

func (s *shopApp) annotate(t *testing.T, obj client.Object, key client.ObjectKey, annotation string) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	g.Expect(s.f.admin.Get(ctx, key, obj)).To(Succeed())
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	obj.SetAnnotations(map[string]string{annotation: time.Now().Format(time.RFC3339Nano)})
	g.Expect(s.f.admin.Patch(ctx, obj, patch)).To(Succeed())
}

// waitReady waits until the Application is Ready at the repository's newest commit.
func (s *shopApp) waitReady(t *testing.T) {
	t.Helper()
	head := s.git.Head(t, "refs/heads/main")
	NewWithT(t).Eventually(func(g Gomega) {
		app := &landfallv1.Application{}
		g.Expect(s.f.admin.Get(context.Background(), s.app, app)).To(Succeed())
		cond := readyCondition(app)
		g.Expect(cond).NotTo(BeNil())
		g.Expect(cond.Status).To(Equal(metav1.ConditionTrue), "%s: %s", cond.Reason, cond.Message)
		g.Expect(app.Status.Revision).To(HaveSuffix(head))
	}).WithTimeout(time.Minute).Should(Succeed())
}

// waitNotReady waits until the Application is not Ready because of a failure, and returns
// its Ready condition.
func (s *shopApp) waitNotReady(t *testing.T) *metav1.Condition {
	t.Helper()
	var cond *metav1.Condition
	NewWithT(t).Eventually(func(g Gomega) {
		app := &landfallv1.Application{}
		g.Expect(s.f.admin.Get(context.Background(), s.app, app)).To(Succeed())
		cond = readyCondition(app)
		g.Expect(cond).NotTo(BeNil())
		g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cond.Reason).NotTo(BeElementOf(landfallv1.ReasonProgressing, landfallv1.ReasonRepositoryNotReady))
	}).WithTimeout(time.Minute).Should(Succeed())
	t.Logf("Application %s: Ready=False %s: %s", s.app, cond.Reason, cond.Message)
	return cond
}

// expectDeployed checks that the three objects are in the target namespace, owned by
// Landfall.
func (s *shopApp) expectDeployed(t *testing.T) {
	t.Helper()
	expectShopObjects(t, s.f, s.target, fmt.Sprintf("%s/%s/staging", s.app.Namespace, s.app.Name))
}

// expectShopObjects checks that the shop's three objects are in namespace, applied by
// Landfall for owner ("<namespace>/<application>/<environment>").
func expectShopObjects(t *testing.T, f *fixture, namespace, owner string) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	for _, obj := range []client.Object{&appsv1.Deployment{}, &corev1.Service{}, &corev1.ConfigMap{}} {
		name := "web"
		if _, ok := obj.(*corev1.ConfigMap); ok {
			name = "greeting"
		}
		g.Expect(f.admin.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj)).To(Succeed(), "%T %s", obj, name)
		g.Expect(obj.GetLabels()).To(HaveKeyWithValue(landfallv1.LabelManaged, "true"))
		g.Expect(obj.GetAnnotations()).To(HaveKeyWithValue(landfallv1.AnnotationOwner, owner))
	}
}

// get reads the Application afresh.
func (s *shopApp) get(g Gomega) *landfallv1.Application {
	app := &landfallv1.Application{}
	g.Expect(s.f.admin.Get(context.Background(), s.app, app)).To(Succeed())
	return app
}

// envStatus returns the status of the Application's one environment, "staging".
func (s *shopApp) envStatus(g Gomega, app *landfallv1.Application) landfallv1.EnvironmentStatus {
	for _, st := range app.Status.Environments {
		if st.Name == "staging" {
			return st
		}
	}
	g.Expect(app.Status.Environments).To(ContainElement(HaveField("Name", "staging")))
	return landfallv1.EnvironmentStatus{}
}

// expectHealed turns self-heal on, edits the ConfigMap by hand and waits for the
// controller to put it back.
func (s *shopApp) expectHealed(t *testing.T) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	app := s.get(g)
	patch := client.MergeFrom(app.DeepCopy())
	app.Spec.SelfHeal = true
	g.Expect(s.f.admin.Patch(ctx, app, patch)).To(Succeed())
	g.Eventually(func(g Gomega) int64 { return s.get(g).Status.ObservedGeneration }).
		WithTimeout(30 * time.Second).Should(BeNumerically(">=", app.Generation))
	cm := &corev1.ConfigMap{}
	key := client.ObjectKey{Namespace: s.target, Name: "greeting"}
	g.Expect(s.f.admin.Get(ctx, key, cm)).To(Succeed())
	want := cm.Data["greeting"]
	cm.Data["greeting"] = "edited by hand"
	g.Expect(s.f.admin.Update(ctx, cm)).To(Succeed())
	g.Eventually(func(g Gomega) string {
		g.Expect(s.f.admin.Get(ctx, key, cm)).To(Succeed())
		return cm.Data["greeting"]
	}).WithTimeout(30*time.Second).WithPolling(100*time.Millisecond).Should(Equal(want), "the hand edit in %s is healed", s.target)
}

// setHealthTimeout gives the Application a rollout policy with this health timeout, and
// waits until the controller has acted on it.
func (s *shopApp) setHealthTimeout(t *testing.T, timeout time.Duration) {
	t.Helper()
	g := NewWithT(t)
	app := s.get(g)
	patch := client.MergeFrom(app.DeepCopy())
	app.Spec.Rollout = &landfallv1.RolloutSpec{HealthTimeout: &metav1.Duration{Duration: timeout}}
	g.Expect(s.f.admin.Patch(context.Background(), app, patch)).To(Succeed())
	g.Eventually(func(g Gomega) int64 { return s.get(g).Status.ObservedGeneration }).
		WithTimeout(30 * time.Second).Should(BeNumerically(">=", app.Generation))
}

// pullRequestHook posts a GitHub pull_request event for pull request n to the controller,
// signed with the Repository's webhook token, and expects it accepted: the controller read
// the Repository and its webhook Secret.
func (s *shopApp) pullRequestHook(t *testing.T, ctl *controller, action string, n int) {
	t.Helper()
	g := NewWithT(t)
	body := fmt.Appendf(nil, `{"action":%q,"number":%d,"pull_request":{"number":%d}}`, action, n, n)
	mac := hmac.New(sha256.New, []byte(hookToken))
	mac.Write(body)
	url := fmt.Sprintf("http://%s/hooks/%s/%s", ctl.webhook, s.repo.Namespace, s.repo.Name)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	g.Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "pull_request")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	answer, _ := io.ReadAll(resp.Body)
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK), "the webhook answered %s", answer)
}
