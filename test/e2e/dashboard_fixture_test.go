package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// chromiumPath is Debian's chromium (make deps installs it), or $LANDFALL_CHROMIUM.
func chromiumPath(tb testing.TB) string {
	tb.Helper()
	p := os.Getenv("LANDFALL_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("chromium is missing (%v): make deps installs it", err)
		}
		tb.Skipf("chromium is missing (%v): make deps installs it", err)
	}
	return p
}

// browser is one headless Chromium with one tab, stopped (with its profile) when the
// test ends.
type browser struct {
	ctx  context.Context
	base string
	tb   testing.TB
}

func newBrowser(tb testing.TB, e *env) *browser {
	tb.Helper()
	// TMPDIR: Chromium's own singleton folder goes with the test's, not into /tmp for good.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromiumPath(tb)),
		chromedp.NoSandbox, chromedp.WindowSize(1280, 900), chromedp.Env("TMPDIR="+tb.TempDir()))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	tb.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{ctx: ctx, base: "http://" + e.ctrl.dashboardAddr, tb: tb}
	// The first action starts the browser; a deadline on it would stop the browser with it.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		tb.Fatalf("starting chromium: %v", err)
	}
	return b
}

// do runs steps with a generous deadline, failing the test on error.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.tb.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, expression string) T {
	b.tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression))
	if err != nil {
		b.tb.Fatalf("browser: evaluating %s: %v", expression, err)
	}
	return v
}

// open navigates to path and waits for the page's main part.
func (b *browser) open(path string) {
	b.tb.Helper()
	b.do(chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("#main")))
}

// signIn signs in with token through the login form, as a person does.
func (b *browser) signIn(token string) {
	b.tb.Helper()
	b.open("/login")
	b.do(chromedp.SetValue(chromedp.CSS("#token"), token), chromedp.Submit(chromedp.CSS("#token")))
	NewWithT(b.tb).Eventually(func() string { return b.text("h1") }, timeout, poll).
		Should(ContainSubstring("Applications"), "signing in leads to the Applications page")
}

// text is the visible text of the first element matching selector, "" when none does;
// it never waits, so that Eventually can poll it.
func (b *browser) text(selector string) string {
	b.tb.Helper()
	return eval[string](b, fmt.Sprintf(`(function(){var e=document.querySelector(%q);return e?e.innerText:""})()`, selector))
}

// count is how many elements match selector.
func (b *browser) count(selector string) int {
	b.tb.Helper()
	return eval[int](b, fmt.Sprintf(`document.querySelectorAll(%q).length`, selector))
}

// screenshot saves the whole page as an artifact of the run (never committed):
// $LANDFALL_ARTIFACTS, else landfall-artifacts in the temporary directory.
func (b *browser) screenshot(name string) {
	b.tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Minute)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	must(b.tb, err)
	dir := os.Getenv("LANDFALL_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "landfall-artifacts")
	}
	must(b.tb, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(b.tb.Name(), "_")+"-"+name+".png")
	must(b.tb, os.WriteFile(path, png, 0o644))
	b.tb.Logf("screenshot: %s", path)
}

// userToken creates a ServiceAccount in ns and returns a bearer token for it, from the
// apiserver's TokenRequest API: a real token that TokenReview accepts.
func userToken(tb testing.TB, e *env, ns, name string) string {
	tb.Helper()
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	must(tb, e.k8s.Create(ctx, sa))
	tb.Cleanup(func() { _ = e.k8s.Delete(context.Background(), sa) })
	expiry := int64(3600)
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}
	must(tb, e.k8s.SubResource("token").Create(ctx, sa, tr))
	return tr.Status.Token
}

// grant binds the ServiceAccount ns/name to a Role in ns allowing verbs on Landfall's
// resources there (roleNS ""  : a ClusterRole and ClusterRoleBinding, every namespace).
func grant(tb testing.TB, e *env, ns, name, roleNS string, verbs ...string) {
	tb.Helper()
	ctx := context.Background()
	rules := []rbacv1.PolicyRule{{APIGroups: []string{"landfall.dev"}, Resources: []string{"applications", "repositories", "previews"}, Verbs: verbs}}
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}}
	roleName := "dashboard-" + ns + "-" + name
	if roleNS == "" {
		role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: roleName}, Rules: rules}
		binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: roleName}, Subjects: subject,
			RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: roleName}}
		must(tb, e.k8s.Create(ctx, role))
		must(tb, e.k8s.Create(ctx, binding))
		tb.Cleanup(func() { _ = e.k8s.Delete(context.Background(), binding); _ = e.k8s.Delete(context.Background(), role) })
		return
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: roleName, Namespace: roleNS}, Rules: rules}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: roleName, Namespace: roleNS}, Subjects: subject,
		RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: roleName}}
	must(tb, e.k8s.Create(ctx, role))
	must(tb, e.k8s.Create(ctx, binding))
}

// dashboardAdmin is a token that may get, list, watch and patch Landfall's resources in
// every namespace.
func dashboardAdmin(tb testing.TB, f *fixture) string {
	tb.Helper()
	token := userToken(tb, f.e, f.ns, "dashboard-admin")
	grant(tb, f.e, f.ns, "dashboard-admin", "", "get", "list", "watch", "patch")
	return token
}

// short is the 7 characters of a commit the pipeline shows.
func short(commit string) string { return commit[:7] }

// dashboardClient is an HTTP client of the dashboard that does not follow redirects, so
// tests read each answer's status.
func dashboardClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// post sends a form to the dashboard with the headers given, returning the status.
func post(g Gomega, c *http.Client, target string, form url.Values, headers map[string]string) int {
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	g.Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	resp.Body.Close()
	return resp.StatusCode
}

// get fetches a dashboard page with the headers given, returning status and body.
func getPage(g Gomega, c *http.Client, target string, headers map[string]string) (int, string) {
	req, err := http.NewRequest(http.MethodGet, target, nil)
	g.Expect(err).NotTo(HaveOccurred())
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

func rawMerge(patch string) client.Patch { return client.RawPatch(types.MergePatchType, []byte(patch)) }

// csrfToken is the CSRF token of a page's forms.
func csrfToken(g Gomega, page string) string {
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	g.Expect(m).To(HaveLen(2), "the page has an action form")
	return m[1]
}

// expectStreamFiltered reads the dashboard's event stream as token while trigger changes
// objects: the change of want (namespace/name) arrives, and none in namespace hidden
// arrives before it (a stream delivers in order, so a change of hidden made first would
// come first).
func expectStreamFiltered(t *testing.T, base, token string, trigger func(), want, hidden string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events", nil)
	must(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("event stream: %s", resp.Status)
	}
	lines := bufio.NewScanner(resp.Body)
	lines.Scan() // "retry:" — the stream is subscribed before its first line is sent
	trigger()
	for lines.Scan() {
		line := lines.Text()
		if !strings.HasPrefix(line, "data: ") {
			continue
		}
		var c struct{ Resource, Namespace, Name string }
		must(t, json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &c))
		if c.Namespace == hidden {
			t.Fatalf("the stream told this user of %s/%s, which they may not get", c.Namespace, c.Name)
		}
		if c.Namespace+"/"+c.Name == want {
			return
		}
	}
	t.Fatalf("no change of %s arrived on the stream: %v", want, lines.Err())
}
