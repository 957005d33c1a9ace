package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

const rev1 = "main@sha1:1111111111111111111111111111111111111111"

func httpClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(tb testing.TB, c *http.Client, method, target string, form url.Values, headers map[string]string) (int, string) {
	tb.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	mustDo(tb, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	mustDo(tb, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, string(b)
}

// TestRightsDecideWhatIsShownAndDone: a token the apiserver does not accept is 401; a
// viewer of one namespace sees only its Applications, has no action buttons and gets 403
// for an action, and another namespace's Application is not found; someone who may patch
// acts, and a revision not in the history is refused with a clear message.
func TestRightsDecideWhatIsShownAndDone(t *testing.T) {
	_, base := testServer(t)
	mine, theirs := namespace(t, "mine"), namespace(t, "theirs")
	app := application(t, mine, "web", rev1)
	application(t, theirs, "api", rev1)
	viewer := token(t, mine, "viewer")
	allow(t, mine, "viewer", mine, "get", "list", "watch")
	operator := token(t, mine, "operator")
	allow(t, mine, "operator", mine, "get", "patch")
	c := httpClient()
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

	for _, bad := range []map[string]string{nil, bearer("forged"), bearer(viewer[:len(viewer)-4] + "AAAA")} {
		if status, _ := do(t, c, "GET", base+"/", nil, bad); status != http.StatusUnauthorized {
			t.Errorf("token %v: status %d, want 401", bad, status)
		}
	}
	eventually(t, "the viewer's list", func() error {
		status, page := do(t, c, "GET", base+"/", nil, bearer(viewer))
		if status != http.StatusOK || !strings.Contains(page, `data-app="`+mine+`/web"`) {
			return fmt.Errorf("status %d; the page lacks %s/web", status, mine)
		}
		if strings.Contains(page, theirs) {
			return fmt.Errorf("the page shows %s", theirs)
		}
		return nil
	})
	if status, _ := do(t, c, "GET", base+"/applications/"+theirs+"/api", nil, bearer(viewer)); status != http.StatusNotFound {
		t.Errorf("another namespace's Application: %d, want 404", status)
	}
	_, page := do(t, c, "GET", base+"/applications/"+mine+"/web", nil, bearer(viewer))
	if strings.Contains(page, "/sync\"") || strings.Contains(page, "Roll back") {
		t.Error("a viewer without patch sees action buttons")
	}
	for _, act := range []string{"sync", "rollback", "approve", "suspend", "resume"} {
		if status, _ := do(t, c, "POST", base+"/applications/"+mine+"/web/"+act, url.Values{"env": {"staging"}}, bearer(viewer)); status != http.StatusForbidden {
			t.Errorf("viewer %s: %d, want 403", act, status)
		}
	}
	got := &landfallv1.Application{}
	mustDo(t, admin.Get(context.Background(), client.ObjectKeyFromObject(app), got))
	if len(got.Annotations) != 0 || got.Spec.Suspend {
		t.Fatalf("refused actions wrote %v, suspend %v", got.Annotations, got.Spec.Suspend)
	}

	status, msg := do(t, c, "POST", base+"/applications/"+mine+"/web/rollback",
		url.Values{"env": {"production"}, "revision": {"main@sha1:" + strings.Repeat("9", 40)}}, bearer(operator))
	if status != http.StatusBadRequest || !strings.Contains(msg, "not in the history") {
		t.Errorf("rollback to an unknown revision: %d %q", status, msg)
	}
	if status, msg := do(t, c, "POST", base+"/applications/"+mine+"/web/sync", url.Values{}, bearer(operator)); status != http.StatusOK {
		t.Errorf("operator sync: %d %s", status, msg)
	}
	mustDo(t, admin.Get(context.Background(), client.ObjectKeyFromObject(app), got))
	if got.Annotations[landfallv1.AnnotationSyncRequestedAt] == "" {
		t.Error("the sync was not requested")
	}
}

// TestSessionsAndCSRF: signing in by the form sets a session; an action without the
// session's CSRF token, or from another origin, or with no origin, is refused and writes
// nothing; the page's own form works and its result shows on the next page.
func TestSessionsAndCSRF(t *testing.T) {
	_, base := testServer(t)
	ns := namespace(t, "csrf")
	app := application(t, ns, "web", rev1)
	tok := token(t, ns, "operator")
	allow(t, ns, "operator", ns, "get", "list", "watch", "patch")
	c := httpClient()
	if status, _ := do(t, c, "POST", base+"/login", url.Values{"token": {tok}}, map[string]string{"Origin": "http://evil.example"}); status != http.StatusForbidden {
		t.Errorf("a login from another origin: %d", status)
	}
	if status, _ := do(t, c, "POST", base+"/login", url.Values{"token": {tok}}, map[string]string{"Origin": base}); status != http.StatusSeeOther {
		t.Fatalf("login: %d", status)
	}
	_, page := do(t, c, "GET", base+"/applications/"+ns+"/web", nil, nil)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no action form in the page:\n%s", page)
	}
	target := base + "/applications/" + ns + "/web/suspend"
	for name, tc := range map[string]struct {
		form    url.Values
		headers map[string]string
	}{
		"no token":      {url.Values{}, map[string]string{"Origin": base}},
		"wrong token":   {url.Values{"csrf": {"x" + m[1]}}, map[string]string{"Origin": base}},
		"other origin":  {url.Values{"csrf": {m[1]}}, map[string]string{"Origin": "http://evil.example"}},
		"no origin":     {url.Values{"csrf": {m[1]}}, nil},
		"other referer": {url.Values{"csrf": {m[1]}}, map[string]string{"Referer": "http://evil.example/x"}},
	} {
		if status, _ := do(t, c, "POST", target, tc.form, tc.headers); status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, status)
		}
	}
	got := &landfallv1.Application{}
	mustDo(t, admin.Get(context.Background(), client.ObjectKeyFromObject(app), got))
	if got.Spec.Suspend {
		t.Fatal("a refused request suspended the Application")
	}
	if status, _ := do(t, c, "POST", target, url.Values{"csrf": {m[1]}}, map[string]string{"Origin": base}); status != http.StatusSeeOther {
		t.Fatalf("the page's form: %d", status)
	}
	mustDo(t, admin.Get(context.Background(), client.ObjectKeyFromObject(app), got))
	if !got.Spec.Suspend {
		t.Error("not suspended")
	}
	if _, page := do(t, c, "GET", base+"/applications/"+ns+"/web", nil, nil); !strings.Contains(page, "web suspended") {
		t.Error("the result is not shown on the next page")
	}
	// Signed out, the session is gone.
	do(t, c, "POST", base+"/logout", url.Values{}, map[string]string{"Origin": base})
	if status, _ := do(t, c, "GET", base+"/", nil, nil); status != http.StatusUnauthorized {
		t.Errorf("after sign-out: %d", status)
	}
}

// TestLiveStreamIsFiltered: the event stream tells a viewer of changes in their namespace,
// and of none in another, which was changed first.
func TestLiveStreamIsFiltered(t *testing.T) {
	_, base := testServer(t)
	mine, theirs := namespace(t, "live"), namespace(t, "hidden")
	application(t, mine, "web", rev1)
	other := application(t, theirs, "api", rev1)
	viewer := token(t, mine, "viewer")
	allow(t, mine, "viewer", mine, "get", "list", "watch")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+viewer)
	resp, err := http.DefaultClient.Do(req)
	mustDo(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	lines.Scan()
	mustDo(t, admin.Patch(ctx, other, client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"annotations":{"touch":"1"}}}`))))
	application(t, mine, "marker", rev1)
	for {
		c := nextChange(t, lines)
		if c.Namespace == theirs {
			t.Fatalf("the viewer was told of %s/%s", c.Namespace, c.Name)
		}
		if c.Namespace == mine && c.Name == "marker" {
			return
		}
	}
}

// nextChange reads the stream up to its next change event.
func nextChange(t *testing.T, lines *bufio.Scanner) change {
	t.Helper()
	for lines.Scan() {
		if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
			var c change
			mustDo(t, json.Unmarshal([]byte(data), &c))
			return c
		}
	}
	t.Fatalf("the stream ended: %v", lines.Err())
	return change{}
}

// TestLiveStreamScope: a stream opened for one Application (as its page opens it) carries
// changes of that Application only, so a page on a busy fleet is not made to lag (and
// review access to) every other object's changes.
func TestLiveStreamScope(t *testing.T) {
	_, base := testServer(t)
	ns := namespace(t, "scope")
	other := application(t, ns, "other", rev1)
	application(t, ns, "web", rev1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := url.Values{"resource": {"applications"}, "namespace": {ns}, "name": {"web"}}
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/events?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+token(t, ns, "admin"))
	allow(t, ns, "admin", ns, "get", "list", "watch")
	resp, err := http.DefaultClient.Do(req)
	mustDo(t, err)
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	lines.Scan()
	mustDo(t, admin.Patch(ctx, other, client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"annotations":{"touch":"1"}}}`))))
	web := &landfallv1.Application{}
	mustDo(t, admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, web))
	mustDo(t, admin.Patch(ctx, web, client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"annotations":{"touch":"1"}}}`))))
	if c := nextChange(t, lines); c.Name != "web" {
		t.Fatalf("a stream for %s/web carried %s %s/%s", ns, c.Resource, c.Namespace, c.Name)
	}
}
