package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// receiver is a chat service stand-in: it verifies the HMAC of each body and keeps the
// decoded payloads.
type receiver struct {
	key  []byte
	code int
	got  chan map[string]any
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	mac := hmac.New(sha256.New, r.key)
	mac.Write(body)
	if r.key != nil && req.Header.Get(SignatureHeader) != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if r.code != 0 {
		http.Error(w, "no", r.code)
		return
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	r.got <- m
}

func previewEvent() Event {
	return Event{Kind: RolledBack, Object: Object{Kind: "Application", Namespace: "team", Name: "web"},
		Environment: "production", Revision: "main@sha1:0123456789abcdef", Commit: "0123456789abcdef",
		Message: "rolled back from a to b", Time: time.Unix(1700000000, 0)}
}

// get walks a decoded JSON document: keys for objects, indexes (as ints) for arrays.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not an object at %q", path, k)
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || len(a) <= k {
				t.Fatalf("%v: no element %d", path, k)
			}
			v = a[k]
		}
	}
	return v
}

// TestWebhookFormats sends one event in every format to a receiver that checks the
// signature, and checks each body against the service's documented shape.
func TestWebhookFormats(t *testing.T) {
	key := []byte("hmac-key")
	rec := &receiver{key: key, got: make(chan map[string]any, 1)}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	e := previewEvent()
	title := "RolledBack: Application team/web (production)"
	checks := map[Format]func(m map[string]any){
		Generic: func(m map[string]any) {
			if get(t, m, "kind") != "RolledBack" || get(t, m, "object", "name") != "web" || get(t, m, "commit") != e.Commit {
				t.Errorf("generic: %v", m)
			}
		},
		// Slack: text, attachments[].{color,title,text,fields[].{title,value,short},ts}.
		Slack: func(m map[string]any) {
			if get(t, m, "text") != title || get(t, m, "attachments", 0, "color") != "danger" ||
				get(t, m, "attachments", 0, "fields", 0, "title") != "Environment" ||
				get(t, m, "attachments", 0, "ts") != float64(1700000000) {
				t.Errorf("slack: %v", m)
			}
		},
		// Teams: type message, attachments[].contentType adaptive card, content.type AdaptiveCard,
		// body of TextBlocks and a FactSet.
		Teams: func(m map[string]any) {
			a := get(t, m, "attachments", 0)
			if get(t, m, "type") != "message" || get(t, a, "contentType") != "application/vnd.microsoft.card.adaptive" ||
				get(t, a, "content", "type") != "AdaptiveCard" || get(t, a, "content", "body", 0, "text") != title ||
				get(t, a, "content", "body", 2, "type") != "FactSet" {
				t.Errorf("teams: %v", m)
			}
		},
		// Discord: embeds[].{title,description,color(int),fields[].{name,value,inline},timestamp}.
		Discord: func(m map[string]any) {
			if get(t, m, "embeds", 0, "title") != title || get(t, m, "embeds", 0, "color") != float64(0xE01E5A) ||
				get(t, m, "embeds", 0, "fields", 1, "name") != "Revision" ||
				get(t, m, "embeds", 0, "timestamp") != "2023-11-14T22:13:20Z" {
				t.Errorf("discord: %v", m)
			}
		},
	}
	for f, check := range checks {
		w := &Webhook{Address: srv.URL + "/hooks/T000/B000/secretpath", Format: f, Key: key}
		if err := w.Send(context.Background(), e); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		check(<-rec.got)
	}
	// A wrong key is refused for good, and the error names neither address nor path.
	w := &Webhook{Address: srv.URL + "/hooks/T000/B000/secretpath", Format: Slack, Key: []byte("wrong")}
	err := w.Send(context.Background(), e)
	var perr *PermanentError
	if !errors.As(err, &perr) || strings.Contains(err.Error(), "secretpath") {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestWebhookErrorsHideTheAddress(t *testing.T) {
	for code, permanent := range map[int]bool{503: false, 429: false, 404: true} {
		rec := &receiver{code: code}
		srv := httptest.NewServer(rec)
		w := &Webhook{Address: srv.URL + "/T1/secret-token?x=y", Format: Generic}
		err := w.Send(context.Background(), previewEvent())
		srv.Close()
		var perr *PermanentError
		if err == nil || errors.As(err, &perr) != permanent || strings.Contains(err.Error(), "secret-token") {
			t.Errorf("%d: %v (permanent %v)", code, err, permanent)
		}
	}
	w := &Webhook{Address: "http://127.0.0.1:1/T1/secret-token", Format: Generic}
	err := w.Send(context.Background(), previewEvent())
	if err == nil || strings.Contains(err.Error(), "secret-token") || strings.Contains(err.Error(), "127.0.0.1") ||
		!strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("unreachable: %v", err)
	}
}

func TestTruncateKeepsRunes(t *testing.T) {
	s := strings.Repeat("é", 10) // 20 bytes
	got := truncate(s, 9)
	if !strings.HasSuffix(got, "…") || len(got) > 9 || strings.ContainsRune(got, '\uFFFD') {
		t.Fatalf("truncate: %q", got)
	}
}

func TestForgeLocate(t *testing.T) {
	cases := []struct {
		p         Provider
		url       string
		api, path string
	}{
		{Gitea, "http://127.0.0.1:3000/landfall-admin/app.git", "http://127.0.0.1:3000/api/v1", "landfall-admin/app"},
		{Gitea, "https://git.example/sub/team/app.git", "https://git.example/sub/api/v1", "team/app"},
		{GitHub, "https://github.com/org/app.git", "https://api.github.com", "org/app"},
		{GitHub, "git@github.com:org/app.git", "https://api.github.com", "org/app"},
		{GitHub, "https://ghe.example/org/app", "https://ghe.example/api/v3", "org/app"},
		{GitLab, "ssh://git@gitlab.example:2222/group/sub/app.git", "https://gitlab.example/api/v4", "group/sub/app"},
	}
	for _, c := range cases {
		r, err := (&Forge{Provider: c.p}).locate(c.url)
		if err != nil || r.api != c.api || r.path != c.path {
			t.Errorf("%s %s: %+v %v", c.p, c.url, r, err)
		}
	}
}

// TestForgeShapes checks the requests each forge gets: GitHub's and Gitea's statuses
// endpoint with state/context, GitLab's with state running/failed and name, their auth.
func TestForgeShapes(t *testing.T) {
	type req struct{ method, path, auth string }
	var got []req
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		got = append(got, req{r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization") + r.Header.Get("PRIVATE-TOKEN")})
		bodies = append(bodies, m)
		_, _ = w.Write([]byte("{}"))
	}))
	defer srv.Close()
	e := previewEvent()
	e.RepositoryURL = "https://example.invalid/group/app.git"
	for _, p := range []Provider{Gitea, GitHub, GitLab} {
		f := &Forge{Provider: p, APIURL: srv.URL, Token: "tok"}
		if err := f.Send(context.Background(), e); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	want := []req{
		{"POST", "/repos/group/app/statuses/0123456789abcdef", "token tok"},
		{"POST", "/repos/group/app/statuses/0123456789abcdef", "Bearer tok"},
		{"POST", "/projects/group%2Fapp/statuses/0123456789abcdef", "tok"},
	}
	for i, w := range want {
		if i >= len(got) || got[i] != w {
			t.Fatalf("request %d: %+v, want %+v", i, got, w)
		}
	}
	if bodies[0]["state"] != "failure" || bodies[0]["context"] != "landfall/web/production" || bodies[2]["state"] != "failed" ||
		bodies[2]["name"] != "landfall/web/production" {
		t.Fatalf("bodies: %v", bodies)
	}
	if d := bodies[1]["description"].(string); len(d) > maxDescription || !strings.HasPrefix(d, "RolledBack: ") {
		t.Fatalf("description %q", d)
	}
}

func TestCommentBody(t *testing.T) {
	e := Event{Kind: PreviewUp, Object: Object{Kind: "Preview", Namespace: "team", Name: "previews"},
		Revision: "refs/pull/1/head@sha1:abc", Preview: &Preview{Number: 1, Namespace: "team-pr-1", URL: "http://pr-1.example", Health: "Healthy"}}
	b := CommentBody(e)
	for _, s := range []string{CommentMarker(e), "`team-pr-1`", "http://pr-1.example", "Healthy", "refs/pull/1/head@sha1:abc"} {
		if !strings.Contains(b, s) {
			t.Errorf("comment lacks %q:\n%s", s, b)
		}
	}
	e.Kind = PreviewRemoved
	if b := CommentBody(e); !strings.Contains(b, "removed") || !strings.Contains(b, CommentMarker(e)) {
		t.Errorf("removed comment:\n%s", b)
	}
}

// fakeForge keeps comments as GitHub's and GitLab's comment APIs do, for the request shapes:
// list (paged), create, edit by id.
type fakeForge struct {
	comments map[string][]forgeComment // by list path
	next     int64
	calls    []string
}

func (f *fakeForge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls = append(f.calls, r.Method+" "+r.URL.EscapedPath())
	var in struct{ Body string }
	_ = json.NewDecoder(r.Body).Decode(&in)
	path := r.URL.EscapedPath()
	switch r.Method {
	case http.MethodGet:
		if r.URL.Query().Get("page") != "1" {
			_, _ = w.Write([]byte("[]"))
			return
		}
		_ = json.NewEncoder(w).Encode(f.comments[path])
	case http.MethodPost:
		f.next++
		f.comments[path] = append(f.comments[path], forgeComment{ID: f.next, Body: in.Body})
		_, _ = w.Write([]byte("{}"))
	case http.MethodPatch, http.MethodPut:
		for list, cs := range f.comments {
			for i := range cs {
				if strings.HasSuffix(path, "/"+strconv.FormatInt(cs[i].ID, 10)) {
					f.comments[list][i].Body = in.Body
				}
			}
		}
		_, _ = w.Write([]byte("{}"))
	}
}

// TestForgeCommentShapes: GitHub (issue comments, PATCH) and GitLab (merge request notes,
// PUT) get one comment per pull request, edited in place, marked removed.
func TestForgeCommentShapes(t *testing.T) {
	for p, want := range map[Provider][]string{
		GitHub: {"GET /repos/group/app/issues/7/comments", "POST /repos/group/app/issues/7/comments",
			"GET /repos/group/app/issues/7/comments", "PATCH /repos/group/app/issues/comments/1",
			"GET /repos/group/app/issues/7/comments", "PATCH /repos/group/app/issues/comments/1"},
		GitLab: {"GET /projects/group%2Fapp/merge_requests/7/notes", "POST /projects/group%2Fapp/merge_requests/7/notes",
			"GET /projects/group%2Fapp/merge_requests/7/notes", "PUT /projects/group%2Fapp/merge_requests/7/notes/1",
			"GET /projects/group%2Fapp/merge_requests/7/notes", "PUT /projects/group%2Fapp/merge_requests/7/notes/1"},
	} {
		fake := &fakeForge{comments: map[string][]forgeComment{}}
		srv := httptest.NewServer(fake)
		f := &Forge{Provider: p, APIURL: srv.URL, Token: "tok"}
		e := Event{Object: Object{Kind: "Preview", Namespace: "team", Name: "previews"}, RepositoryURL: "https://x.invalid/group/app.git",
			Preview: &Preview{Number: 7, Namespace: "team-pr-7", Health: "Progressing"}}
		for _, step := range []struct {
			kind   Kind
			health string
		}{{PreviewUp, "Progressing"}, {PreviewUpdated, "Healthy"}, {PreviewRemoved, "Healthy"}} {
			e.Kind, e.Preview.Health = step.kind, step.health
			if err := f.Send(context.Background(), e); err != nil {
				t.Fatalf("%s %s: %v", p, step.kind, err)
			}
		}
		srv.Close()
		calls := fake.calls
		if strings.Join(calls, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s calls:\n%s\nwant:\n%s", p, strings.Join(calls, "\n"), strings.Join(want, "\n"))
		}
		var all []forgeComment
		for _, cs := range fake.comments {
			all = append(all, cs...)
		}
		if len(all) != 1 || !strings.Contains(all[0].Body, "removed") {
			t.Errorf("%s comments: %+v", p, all)
		}
	}
}
