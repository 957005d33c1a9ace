package source

import (
	"errors"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	cases := map[string]string{
		"https://user:secret@git.example.com/a/b.git":     "https://git.example.com/a/b.git",
		"https://ghp_token@git.example.com/a/b.git":       "https://git.example.com/a/b.git",
		"https://git.example.com/a.git?private_token=s3c": "https://git.example.com/a.git",
		"ssh://git:secret@git.example.com:2222/a/b.git":   "ssh://git@git.example.com:2222/a/b.git",
		"git@github.com:acme/shop.git":                    "git@github.com:acme/shop.git",
		"http://u:p@[::1]:80/%zz":                         "http://[::1]:80/%zz",
		"https://git.example.com/plain.git":               "https://git.example.com/plain.git",
	}
	for in, want := range cases {
		got := RedactURL(in)
		if got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(got, "secret") || strings.Contains(got, "token") {
			t.Errorf("RedactURL(%q) = %q keeps a secret", in, got)
		}
	}
}

func TestParseURL(t *testing.T) {
	ok := []struct {
		in       string
		ssh      bool
		user     string
		hostPort string
	}{
		{"https://git.example.com/acme/shop.git", false, "", ""},
		{"ssh://git.example.com/acme/shop.git", true, "git", "git.example.com:22"},
		{"ssh://deploy@git.example.com:2222/acme/shop.git", true, "deploy", "git.example.com:2222"},
		{"git@github.com:acme/shop.git", true, "git", "github.com:22"},
		{"github.com:acme/shop.git", true, "git", "github.com:22"},
	}
	for _, tc := range ok {
		ep, err := parseURL(tc.in, false)
		if err != nil || ep.ssh != tc.ssh || ep.user != tc.user || ep.hostPort != tc.hostPort {
			t.Errorf("parseURL(%q) = %+v, %v", tc.in, ep, err)
		}
	}
	bad := map[string]string{
		"":                                  "empty",
		"http://git.example.com/a.git":      "plain http",
		"file:///srv/git/a.git":             `scheme "file"`,
		"git://git.example.com/a.git":       `scheme "git"`,
		"ext::ssh -oProxyCommand=x host":    "remote helpers",
		"-oProxyCommand=x":                  "remote helpers",
		"ssh://-oProxyCommand=x/a":          "starts with '-'",
		"ssh://-user@host/a":                "starts with '-'",
		"git@-host:a.git":                   "starts with '-'",
		"git@host:-a.git":                   "starts with '-'",
		"/srv/git/a.git":                    "local paths",
		"https://user:pw@git.example.com/a": "credentials must not be in the URL",
		"ssh://u:pw@git.example.com/a":      "password",
		"https://git.example.com/a b":       "spaces",
		"https:///a.git":                    "no host",
	}
	for in, want := range bad {
		_, err := parseURL(in, false)
		if !errors.Is(err, ErrInvalidURL) || !strings.Contains(err.Error(), want) {
			t.Errorf("parseURL(%q) error = %v, want ErrInvalidURL mentioning %q", in, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("parseURL(%q) error shows credentials: %v", in, err)
		}
	}
	if _, err := parseURL("http://git.example.com/a.git", true); err != nil {
		t.Errorf("http with AllowHTTP: %v", err)
	}
}

func TestCacheKeyIgnoresCredentialsButNotCase(t *testing.T) {
	a, _ := parseURL("ssh://deploy@git.example.com/Acme/shop.git", false)
	b, _ := parseURL("ssh://deploy@git.example.com/acme/shop.git", false)
	if a.cacheKey() == b.cacheKey() {
		t.Error("different paths share a cache key")
	}
}

func TestAuthStringRedacts(t *testing.T) {
	a := Auth{Username: "bob", Password: "hunter2", BearerToken: "tok-xyz", SSHKey: []byte("-----BEGIN KEY"), KnownHosts: []byte("h k")}
	for _, s := range []string{a.String(), a.GoString()} {
		for _, secret := range []string{"bob", "hunter2", "tok-xyz", "BEGIN"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q shows %q", s, secret)
			}
		}
		if !strings.Contains(s, "password") {
			t.Errorf("%q does not say which fields are set", s)
		}
	}
}

func TestAuthMethodRefusesMismatches(t *testing.T) {
	https, _ := parseURL("https://git.example.com/a.git", false)
	ssh, _ := parseURL("git@git.example.com:a.git", false)
	cases := []struct {
		ep   endpoint
		auth Auth
		want string
	}{
		{https, Auth{Username: "u", BearerToken: "t"}, "not both"},
		{https, Auth{SSHKey: []byte("k")}, "SSH identity given for an HTTPS URL"},
		{ssh, Auth{Password: "p"}, "for an SSH URL"},
		{ssh, Auth{}, "needs an SSH identity"},
		{ssh, Auth{SSHKey: []byte("not a key"), KnownHosts: []byte("h ssh-ed25519 AAAA")}, "SSH identity"},
	}
	for _, tc := range cases {
		_, err := tc.auth.method(tc.ep)
		if !errors.Is(err, ErrInvalidAuth) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("method(%v) error = %v, want ErrInvalidAuth mentioning %q", tc.auth, err, tc.want)
		}
	}
}
