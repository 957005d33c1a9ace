package webhook_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/landfall-dev/landfall/sync/source/webhook"
)

var secret = []byte("hook-s3cret")

func sign(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// signed returns the headers a provider sends for body, with a valid signature.
func signed(p webhook.Provider, event string, body []byte) http.Header {
	h := http.Header{}
	switch p {
	case webhook.GitHub:
		h.Set("X-GitHub-Event", event)
		h.Set("X-Hub-Signature-256", "sha256="+sign(secret, body))
	case webhook.GitLab:
		h.Set("X-Gitlab-Event", event)
		h.Set("X-Gitlab-Token", string(secret))
	case webhook.Gitea:
		h.Set("X-Gitea-Event", event)
		h.Set("X-GitHub-Event", event) // Gitea sends GitHub's headers too
		h.Set("X-Gitea-Signature", sign(secret, body))
	case webhook.Forgejo:
		h.Set("X-Forgejo-Event", event)
		h.Set("X-Gitea-Event", event)
		h.Set("X-Forgejo-Signature", sign(secret, body))
		h.Set("X-Gitea-Signature", sign(secret, body))
	case webhook.Bitbucket:
		h.Set("X-Event-Key", event)
		h.Set("X-Hub-Signature", "sha256="+sign(secret, body))
	case webhook.Generic:
		h.Set("X-Landfall-Signature", "sha256="+sign(secret, body))
	}
	return h
}

func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseSamples(t *testing.T) {
	gh := []string{"https://github.com/acme/shop-config.git", "git@github.com:acme/shop-config.git", "https://github.com/acme/shop-config"}
	gl := []string{"https://gitlab.example.com/acme/shop-config.git", "git@gitlab.example.com:acme/shop-config.git", "https://gitlab.example.com/acme/shop-config"}
	cases := []struct {
		provider webhook.Provider
		event    string
		file     string
		want     webhook.Event
	}{
		{webhook.GitHub, "push", "github-push.json", webhook.Event{Kind: webhook.Push, Ref: "refs/heads/main", RepositoryURLs: gh}},
		{webhook.GitHub, "pull_request", "github-pull_request.json", webhook.Event{Kind: webhook.PullRequest, Ref: "refs/pull/42/head", PullRequest: 42, Action: webhook.Synchronize, RepositoryURLs: gh}},
		{webhook.GitHub, "ping", "github-ping.json", webhook.Event{Kind: webhook.Ping, RepositoryURLs: []string{"https://github.com/acme/shop-config.git"}}},
		{webhook.GitHub, "issues", "github-ping.json", webhook.Event{Kind: webhook.Other, RepositoryURLs: []string{"https://github.com/acme/shop-config.git"}}},
		{webhook.GitLab, "Push Hook", "gitlab-push.json", webhook.Event{Kind: webhook.Push, Ref: "refs/heads/main", RepositoryURLs: gl}},
		{webhook.GitLab, "Merge Request Hook", "gitlab-merge_request.json", webhook.Event{Kind: webhook.PullRequest, Ref: "refs/merge-requests/7/head", PullRequest: 7, Action: webhook.Opened, RepositoryURLs: gl}},
		{webhook.Gitea, "push", "gitea-push.json", webhook.Event{Kind: webhook.Push, Ref: "refs/tags/v1.4.0", RepositoryURLs: []string{
			"https://gitea.example.com/acme/shop-config.git", "git@gitea.example.com:acme/shop-config.git", "https://gitea.example.com/acme/shop-config"}}},
		{webhook.Forgejo, "pull_request_sync", "gitea-pull_request.json", webhook.Event{Kind: webhook.PullRequest, Ref: "refs/pull/3/head", PullRequest: 3, Action: webhook.Synchronize, RepositoryURLs: []string{
			"https://codeberg.example.org/acme/shop-config.git", "git@codeberg.example.org:acme/shop-config.git", "https://codeberg.example.org/acme/shop-config"}}},
		{webhook.Bitbucket, "repo:push", "bitbucket-cloud-push.json", webhook.Event{Kind: webhook.Push, Ref: "refs/heads/main", RepositoryURLs: []string{"https://bitbucket.org/acme/shop-config"}}},
		{webhook.Bitbucket, "pullrequest:fulfilled", "bitbucket-cloud-pullrequest.json", webhook.Event{Kind: webhook.PullRequest, Ref: "refs/heads/staging-overlay", PullRequest: 12, Action: webhook.Closed, RepositoryURLs: []string{"https://bitbucket.org/acme/shop-config"}}},
		{webhook.Bitbucket, "repo:refs_changed", "bitbucket-server-refs_changed.json", webhook.Event{Kind: webhook.Push, Ref: "refs/heads/main", RepositoryURLs: []string{
			"ssh://git@bitbucket.example.com:7999/acme/shop-config.git", "https://bitbucket.example.com/scm/acme/shop-config.git"}}},
		{webhook.Bitbucket, "pr:opened", "bitbucket-server-pr_opened.json", webhook.Event{Kind: webhook.PullRequest, Ref: "refs/heads/canary-analysis", PullRequest: 5, Action: webhook.Opened}},
		{webhook.Bitbucket, "diagnostics:ping", "bitbucket-server-pr_opened.json", webhook.Event{Kind: webhook.Ping}},
		{webhook.Generic, "", "generic.json", webhook.Event{Kind: webhook.Push, Ref: "refs/heads/main"}},
	}
	for _, tc := range cases {
		t.Run(string(tc.provider)+"/"+tc.event, func(t *testing.T) {
			body := sample(t, tc.file)
			got, err := webhook.Parse(signed(tc.provider, tc.event, body), body, secret)
			tc.want.Provider = tc.provider
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse = %+v, %v\nwant %+v", got, err, tc.want)
			}
		})
	}
}

func TestGitHubFormEncodedPayload(t *testing.T) {
	body := []byte("payload=" + url.QueryEscape(string(sample(t, "github-push.json"))))
	ev, err := webhook.Parse(signed(webhook.GitHub, "push", body), body, secret)
	if err != nil || ev.Ref != "refs/heads/main" {
		t.Errorf("Parse = %+v, %v", ev, err)
	}
}

func TestGenericWithEmptyBody(t *testing.T) {
	ev, err := webhook.Parse(signed(webhook.Generic, "", nil), nil, secret)
	if err != nil || ev.Kind != webhook.Push || ev.Ref != "" {
		t.Errorf("Parse = %+v, %v", ev, err)
	}
}

func TestSignatureFailures(t *testing.T) {
	body := sample(t, "github-push.json")
	tamper := func(p webhook.Provider, event string, edit func(h http.Header)) http.Header {
		h := signed(p, event, body)
		edit(h)
		return h
	}
	cases := map[string]struct {
		h      http.Header
		secret []byte
		want   string
	}{
		"no secret configured": {signed(webhook.GitHub, "push", body), nil, "no webhook secret"},
		"unknown sender":       {http.Header{"Content-Type": {"application/json"}}, secret, "no known event or signature header"},
		"github missing":       {tamper(webhook.GitHub, "push", func(h http.Header) { h.Del("X-Hub-Signature-256") }), secret, "missing X-Hub-Signature-256"},
		"github wrong key":     {tamper(webhook.GitHub, "push", func(h http.Header) { h.Set("X-Hub-Signature-256", "sha256="+sign([]byte("other"), body)) }), secret, "does not match"},
		"github sha1 only":     {tamper(webhook.GitHub, "push", func(h http.Header) { h.Set("X-Hub-Signature-256", "sha1=abcd") }), secret, "sha256=<hex>"},
		"github not hex":       {tamper(webhook.GitHub, "push", func(h http.Header) { h.Set("X-Hub-Signature-256", "sha256=zz") }), secret, "not hex"},
		"gitlab wrong token":   {tamper(webhook.GitLab, "Push Hook", func(h http.Header) { h.Set("X-Gitlab-Token", "hook-s3cre") }), secret, "X-Gitlab-Token does not match"},
		"gitlab no token":      {tamper(webhook.GitLab, "Push Hook", func(h http.Header) { h.Del("X-Gitlab-Token") }), secret, "missing X-Gitlab-Token"},
		"gitea wrong":          {tamper(webhook.Gitea, "push", func(h http.Header) { h.Set("X-Gitea-Signature", sign(secret, []byte("x"))) }), secret, "does not match"},
		"forgejo missing":      {tamper(webhook.Forgejo, "push", func(h http.Header) { h.Del("X-Forgejo-Signature"); h.Del("X-Gitea-Signature") }), secret, "missing X-Forgejo-Signature or X-Gitea-Signature"},
		"bitbucket wrong":      {tamper(webhook.Bitbucket, "repo:push", func(h http.Header) { h.Set("X-Hub-Signature", "sha256=00") }), secret, "does not match"},
		"generic wrong":        {tamper(webhook.Generic, "", func(h http.Header) { h.Set("X-Landfall-Signature", "sha256="+sign(secret, nil)) }), secret, "does not match"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := webhook.Parse(tc.h, body, tc.secret)
			if !errors.Is(err, webhook.ErrSignature) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want ErrSignature mentioning %q", err, tc.want)
			}
			if webhook.StatusCode(err) != http.StatusUnauthorized {
				t.Errorf("status = %d", webhook.StatusCode(err))
			}
			if strings.Contains(err.Error(), string(secret)) {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

func TestRefusalsNameTheProvider(t *testing.T) {
	body := sample(t, "github-push.json")
	for _, p := range []webhook.Provider{webhook.GitHub, webhook.GitLab, webhook.Gitea, webhook.Forgejo, webhook.Bitbucket, webhook.Generic} {
		h := signed(p, "push", body)
		for name, key := range map[string][]byte{"wrong key": []byte("other"), "no secret": nil} {
			ev, err := webhook.Parse(h, body, key)
			if !errors.Is(err, webhook.ErrSignature) || !reflect.DeepEqual(ev, webhook.Event{Provider: p}) {
				t.Errorf("%s, %s: Parse = %+v, %v; want only the provider and ErrSignature", p, name, ev, err)
			}
		}
	}
}

func TestMalformedBodiesAfterValidSignature(t *testing.T) {
	cases := []struct {
		p     webhook.Provider
		event string
		body  string
	}{
		{webhook.GitHub, "push", `{"ref": 7}`},
		{webhook.GitHub, "push", `{"ref": "main"}`},
		{webhook.GitHub, "push", `not json`},
		{webhook.GitHub, "pull_request", `{"action": "opened"}`},
		{webhook.GitLab, "Merge Request Hook", `{"object_attributes": {"iid": -1}}`},
		{webhook.Gitea, "push", `{"ref": "refs/heads/a\u0000b"}`},
		{webhook.Bitbucket, "repo:push", `{"push": {"changes": []}}`},
		{webhook.Bitbucket, "repo:push", `{"push": {"changes": [{"new": {"type": "weird", "name": "x"}}]}}`},
		{webhook.Bitbucket, "pr:opened", `{"pullRequest": {"id": 3}}`},
		{webhook.Generic, "", `[1, 2]`},
	}
	for _, tc := range cases {
		body := []byte(tc.body)
		_, err := webhook.Parse(signed(tc.p, tc.event, body), body, secret)
		if !errors.Is(err, webhook.ErrMalformed) || webhook.StatusCode(err) != http.StatusBadRequest {
			t.Errorf("%s %s %s: error = %v, want ErrMalformed", tc.p, tc.event, tc.body, err)
		}
	}
}

func TestReadBodyIsBounded(t *testing.T) {
	got, err := webhook.ReadBody(bytes.NewReader(make([]byte, webhook.MaxBodyBytes)), webhook.MaxBodyBytes)
	if err != nil || len(got) != webhook.MaxBodyBytes {
		t.Errorf("at the limit: %d bytes, %v", len(got), err)
	}
	_, err = webhook.ReadBody(bytes.NewReader(make([]byte, webhook.MaxBodyBytes+1)), webhook.MaxBodyBytes)
	if !errors.Is(err, webhook.ErrTooLarge) || webhook.StatusCode(err) != http.StatusRequestEntityTooLarge {
		t.Errorf("over the limit: %v", err)
	}
	if webhook.StatusCode(nil) != http.StatusOK || webhook.StatusCode(errors.New("x")) != http.StatusInternalServerError {
		t.Error("StatusCode of nil or an unknown error")
	}
}
