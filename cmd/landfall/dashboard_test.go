package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// TestDashboardCommand runs `landfall dashboard` with the kubeconfig of a user who may only
// read Applications in one namespace: the one-time URL signs the browser in, the page lists
// that namespace's Application and nothing of another's, an action the user may not take is
// a 403 and changes nothing; an administrator's dashboard over every namespace sees both and
// its sync request lands on the Application.
func TestDashboardCommand(t *testing.T) {
	g := NewWithT(t)
	f := controlPlane(t)
	for _, ns := range []string{"dash-mine", "dash-theirs"} {
		g.Expect(f.client.Create(f.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		g.Expect(f.client.Create(f.ctx, &landfallv1.Application{
			ObjectMeta: metav1.ObjectMeta{Name: "shop-" + strings.TrimPrefix(ns, "dash-"), Namespace: ns},
			Spec: landfallv1.ApplicationSpec{RepositoryRef: landfallv1.LocalObjectReference{Name: "absent"}, Path: "app",
				Environments: []landfallv1.Environment{{Name: "staging", Namespace: ns + "-staging"}}},
		})).To(Succeed())
	}
	reader := readOnlyUser(g, f, "dash-reader", "dash-mine")

	base, stop := startDashboard(t, "--kubeconfig", reader, "-n", "dash-mine", "--address", "127.0.0.1:0")
	browser, key := signIn(g, base)
	page := getPage(g, browser, base.String()+"/")
	g.Expect(page).To(ContainSubstring("shop-mine"))
	g.Expect(page).NotTo(ContainSubstring("shop-theirs"))
	g.Expect(statusOf(g, browser, "GET", base.String()+"/applications/dash-theirs/shop-theirs", nil)).To(Equal(http.StatusNotFound))

	app := getPage(g, browser, base.String()+"/applications/dash-mine/shop-mine")
	g.Expect(app).To(ContainSubstring("shop-mine"))
	g.Expect(app).NotTo(ContainSubstring(`/shop-mine/sync"`), "no action buttons without patch")
	// The page has no form to take a CSRF token from, so ask as a script would, with the
	// key as bearer token: the answer is the user's rights, not the CSRF check.
	g.Expect(statusWithKey(g, key, "POST", base.String()+"/applications/dash-mine/shop-mine/sync")).To(Equal(http.StatusForbidden))
	g.Expect(statusWithKey(g, key, "GET", base.String()+"/applications/dash-theirs/shop-theirs")).To(Equal(http.StatusNotFound))
	mine := &landfallv1.Application{}
	g.Expect(f.client.Get(f.ctx, client.ObjectKey{Namespace: "dash-mine", Name: "shop-mine"}, mine)).To(Succeed())
	g.Expect(mine.Annotations).NotTo(HaveKey(landfallv1.AnnotationSyncRequestedAt))
	stop()

	base, stop = startDashboard(t, "--kubeconfig", f.kubeconfig, "-A", "--address", "127.0.0.1:0")
	defer stop()
	browser, _ = signIn(g, base)
	page = getPage(g, browser, base.String()+"/")
	g.Expect(page).To(And(ContainSubstring("shop-mine"), ContainSubstring("shop-theirs")))
	app = getPage(g, browser, base.String()+"/applications/dash-theirs/shop-theirs")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(app)
	g.Expect(csrf).To(HaveLen(2), "an administrator's page has the action forms")
	form := url.Values{"csrf": {csrf[1]}}
	g.Expect(statusOf(g, browser, "POST", base.String()+"/applications/dash-theirs/shop-theirs/sync", url.Values{})).
		To(Equal(http.StatusForbidden), "a form without the session's CSRF token is refused")
	g.Expect(statusOf(g, browser, "POST", base.String()+"/applications/dash-theirs/shop-theirs/sync", form)).
		To(Equal(http.StatusSeeOther), "back to the Application's page, which shows the result")
	g.Expect(getPage(g, browser, base.String()+"/applications/dash-theirs/shop-theirs")).To(ContainSubstring("sync of shop-theirs requested"))
	theirs := &landfallv1.Application{}
	g.Expect(f.client.Get(f.ctx, client.ObjectKey{Namespace: "dash-theirs", Name: "shop-theirs"}, theirs)).To(Succeed())
	g.Expect(theirs.Annotations).To(HaveKey(landfallv1.AnnotationSyncRequestedAt))
}

// readOnlyUser writes a kubeconfig for a user who may get, list and watch Landfall's kinds in
// namespace and nothing else.
func readOnlyUser(g *WithT, f *cliFixture, name, namespace string) string {
	kubeconfig, err := writeUserKubeconfig(f.env, f.dir, envtest.User{Name: name})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(f.client.Create(f.ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{landfallv1.GroupVersion.Group},
			Resources: []string{"applications", "repositories", "previews"}, Verbs: []string{"get", "list", "watch"}}},
	})).To(Succeed())
	g.Expect(f.client.Create(f.ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}},
	})).To(Succeed())
	return kubeconfig
}

// startDashboard runs `landfall dashboard args...` until stop, and returns the sign-in URL
// it prints.
func startDashboard(t *testing.T, args ...string) (*url.URL, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out, w := io.Pipe()
	root := newRootCmd()
	root.SetOut(w)
	root.SetErr(w)
	root.SetArgs(append([]string{"dashboard"}, args...))
	done := make(chan error, 1)
	go func() { err := root.ExecuteContext(ctx); _ = w.CloseWithError(err); done <- err }()
	stop := func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("landfall dashboard ended with %v, want a clean stop", err)
			}
		case <-time.After(time.Minute):
			t.Error("landfall dashboard did not stop within a minute of its context")
		}
	}
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if u, found := strings.CutPrefix(lines.Text(), "Landfall dashboard: "); found {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			parsed, err := url.Parse(u)
			if err != nil {
				stop()
				t.Fatalf("the dashboard printed %q: %v", u, err)
			}
			return parsed, stop
		}
	}
	stop()
	t.Fatalf("landfall dashboard ended before printing its URL: %v", lines.Err())
	return nil, nil
}

// signIn follows the one-time URL as a browser would and returns that browser and the key;
// login is left as the dashboard's base URL.
func signIn(g *WithT, login *url.URL) (*http.Client, string) {
	jar, err := cookiejar.New(nil)
	g.Expect(err).NotTo(HaveOccurred())
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	g.Expect(getPage(g, browser, login.String())).To(ContainSubstring("Applications"))
	key := login.Query().Get("key")
	g.Expect(key).NotTo(BeEmpty())
	*login = url.URL{Scheme: login.Scheme, Host: login.Host}
	return browser, key
}

// statusWithKey sends a request with the key as bearer token and no cookie.
func statusWithKey(g *WithT, key, method, u string) int {
	req, err := http.NewRequest(method, u, nil)
	g.Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	return resp.StatusCode
}

func getPage(g *WithT, c *http.Client, u string) string {
	resp, err := c.Get(u)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK), "GET %s: %s", u, body)
	return string(body)
}

// statusOf sends a request from the dashboard's own origin, as its pages do, and returns the
// status code (redirects not followed).
func statusOf(g *WithT, c *http.Client, method, u string, form url.Values) int {
	req, err := http.NewRequest(method, u, strings.NewReader(form.Encode()))
	g.Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	parsed, _ := url.Parse(u)
	req.Header.Set("Origin", parsed.Scheme+"://"+parsed.Host)
	noRedirect := *c
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noRedirect.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	return resp.StatusCode
}
