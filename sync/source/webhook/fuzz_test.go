package webhook_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/landfall-dev/landfall/sync/source/webhook"
)

// Each fuzz target signs whatever body it is given, so the parser behind the signature
// check is what gets explored. Run one with, e.g.:
//
//	go test -run '^$' -fuzz FuzzGitHub -fuzztime 30s ./sync/source/webhook

func FuzzGitHub(f *testing.F) {
	seed(f, []string{"push", "pull_request", "ping"}, "github-push.json", "github-pull_request.json", "github-ping.json")
	f.Fuzz(func(t *testing.T, event string, body []byte) { checkParse(t, webhook.GitHub, event, body) })
}

func FuzzGitLab(f *testing.F) {
	seed(f, []string{"Push Hook", "Merge Request Hook", "Tag Push Hook"}, "gitlab-push.json", "gitlab-merge_request.json")
	f.Fuzz(func(t *testing.T, event string, body []byte) { checkParse(t, webhook.GitLab, event, body) })
}

func FuzzGitea(f *testing.F) {
	seed(f, []string{"push", "pull_request", "pull_request_sync"}, "gitea-push.json", "gitea-pull_request.json")
	f.Fuzz(func(t *testing.T, event string, body []byte) { checkParse(t, webhook.Gitea, event, body) })
}

func FuzzForgejo(f *testing.F) {
	seed(f, []string{"push", "pull_request_sync"}, "gitea-push.json", "gitea-pull_request.json")
	f.Fuzz(func(t *testing.T, event string, body []byte) { checkParse(t, webhook.Forgejo, event, body) })
}

func FuzzBitbucket(f *testing.F) {
	seed(f, []string{"repo:push", "pullrequest:created", "repo:refs_changed", "pr:opened", "pr:merged"},
		"bitbucket-cloud-push.json", "bitbucket-cloud-pullrequest.json",
		"bitbucket-server-refs_changed.json", "bitbucket-server-pr_opened.json")
	f.Fuzz(func(t *testing.T, event string, body []byte) { checkParse(t, webhook.Bitbucket, event, body) })
}

func FuzzGeneric(f *testing.F) {
	seed(f, []string{""}, "generic.json")
	f.Add("", []byte(`{"ref": "main"}`))
	f.Fuzz(func(t *testing.T, _ string, body []byte) { checkParse(t, webhook.Generic, "", body) })
}

// FuzzSignature feeds arbitrary signature headers: none but the right one may verify.
func FuzzSignature(f *testing.F) {
	body := []byte(`{"ref": "refs/heads/main"}`)
	f.Add("sha256=" + sign(secret, body))
	f.Add("sha256=")
	f.Add("sha1=0123")
	f.Add(strings.Repeat("f", 64))
	f.Fuzz(func(t *testing.T, sig string) {
		h := signed(webhook.Generic, "", body)
		h.Set("X-Landfall-Signature", sig)
		_, err := webhook.Parse(h, body, secret)
		valid := strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(sig, "sha256=")), sign(secret, body)) &&
			strings.HasPrefix(sig, "sha256=")
		if valid != (err == nil) {
			t.Fatalf("signature %q: valid=%v but err=%v", sig, valid, err)
		}
		if err != nil && !errors.Is(err, webhook.ErrSignature) {
			t.Fatalf("signature %q: error %v is not ErrSignature", sig, err)
		}
	})
}

func seed(f *testing.F, events []string, files ...string) {
	for _, name := range files {
		body := sample(f, name)
		for _, e := range events {
			f.Add(e, body)
		}
	}
	f.Add(events[0], []byte(`{}`))
	f.Add(events[0], []byte(`null`))
	f.Add(events[0], []byte(`payload=%7B%7D`))
}

// checkParse asserts what must hold for any validly signed request: no panic, either a
// well-formed event or ErrMalformed.
func checkParse(t *testing.T, p webhook.Provider, event string, body []byte) {
	ev, err := webhook.Parse(signed(p, event, body), body, secret)
	if err != nil {
		if !errors.Is(err, webhook.ErrMalformed) {
			t.Fatalf("signed %s %q: error %v is not ErrMalformed", p, event, err)
		}
		return
	}
	if ev.Provider != p {
		t.Fatalf("provider %q, want %q", ev.Provider, p)
	}
	switch ev.Kind {
	case webhook.Push:
		if ev.Ref != "" && !strings.HasPrefix(ev.Ref, "refs/") {
			t.Fatalf("push ref %q is not a full ref", ev.Ref)
		}
		if ev.Ref == "" && p != webhook.Generic {
			t.Fatal("push without ref")
		}
	case webhook.PullRequest:
		if ev.PullRequest <= 0 || ev.Action == "" || !strings.HasPrefix(ev.Ref, "refs/") {
			t.Fatalf("pull request event %+v", ev)
		}
	case webhook.Ping, webhook.Other:
	default:
		t.Fatalf("unknown kind %q", ev.Kind)
	}
	if strings.ContainsFunc(ev.Ref, func(r rune) bool { return r < ' ' }) {
		t.Fatalf("ref %q has control characters", ev.Ref)
	}
}
