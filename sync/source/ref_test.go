package source

import (
	"errors"
	"strings"
	"testing"
)

func TestRefValidate(t *testing.T) {
	good := []Ref{{Branch: "main"}, {Branch: "release/1.x"}, {Tag: "v1.0.0"}, {SemVer: ">=1.2 <2"},
		{Commit: strings.Repeat("a1", 20)}}
	for _, r := range good {
		if err := r.Validate(); err != nil {
			t.Errorf("%v: %v", r, err)
		}
	}
	bad := map[string]Ref{
		"exactly one":         {},
		"exactly one ":        {Branch: "main", Tag: "v1"},
		"short name":          {Branch: "refs/heads/main"},
		"not starting":        {Tag: "-v1"},
		"branch \"a..b\"":     {Branch: "a..b"},
		"semver range":        {SemVer: "not-a-range!"},
		"40-character SHA-1":  {Commit: "abc123"},
		"40-character SHA-1 ": {Commit: strings.Repeat("A1", 20)},
	}
	for want, r := range bad {
		err := r.Validate()
		if !errors.Is(err, ErrInvalidRef) || !strings.Contains(err.Error(), strings.TrimSpace(want)) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidRef mentioning %q", r, err, want)
		}
	}
}

func TestResolve(t *testing.T) {
	refs := refMap{
		"refs/heads/main":         "c-main",
		"refs/tags/v1.0.0":        "tag-obj-1",
		"refs/tags/v1.0.0^{}":     "c-100",
		"refs/tags/v1.1.0":        "c-110",
		"refs/tags/1.1.0":         "c-110-nov",
		"refs/tags/v1.2.0-rc.1":   "c-120rc",
		"refs/tags/v2.0.0":        "c-200",
		"refs/tags/not-a-version": "c-x",
		"refs/pull/1/head":        "c-pr1",
		"refs/tags/v3.0.0^{}":     "c-stray-peel",
	}
	cases := []struct {
		ref  Ref
		want string
		name string
	}{
		{Ref{Branch: "main"}, "main@sha1:c-main", "refs/heads/main"},
		{Ref{Tag: "v1.0.0"}, "v1.0.0@sha1:c-100", "refs/tags/v1.0.0"},
		{Ref{Tag: "v1.1.0"}, "v1.1.0@sha1:c-110", "refs/tags/v1.1.0"},
		{Ref{SemVer: "~1.0"}, "v1.0.0@sha1:c-100", "refs/tags/v1.0.0"},
		{Ref{SemVer: "^1"}, "1.1.0@sha1:c-110-nov", "refs/tags/1.1.0"},
		{Ref{SemVer: ">=1.2.0-0 <2"}, "v1.2.0-rc.1@sha1:c-120rc", "refs/tags/v1.2.0-rc.1"},
		{Ref{SemVer: "*"}, "v2.0.0@sha1:c-200", "refs/tags/v2.0.0"},
		{Ref{Commit: "abc"}, "sha1:abc", ""},
	}
	for _, tc := range cases {
		rev, name, err := resolve(tc.ref, refs)
		if err != nil || rev.String() != tc.want || name.String() != tc.name {
			t.Errorf("resolve(%v) = %s, %s, %v; want %s, %s", tc.ref, rev, name, err, tc.want, tc.name)
		}
	}
	for _, ref := range []Ref{{Branch: "dev"}, {Tag: "v9"}, {SemVer: ">=4"}} {
		if _, _, err := resolve(ref, refs); !errors.Is(err, ErrRefNotFound) {
			t.Errorf("resolve(%v) error = %v, want ErrRefNotFound", ref, err)
		}
	}
}

func TestMatchGlobs(t *testing.T) {
	refs := refMap{"refs/pull/1/head": "a", "refs/pull/1/merge": "b", "refs/pull/22/head": "c",
		"refs/heads/feature/x": "d", "refs/tags/v1^{}": "e", "refs/tags/v1": "t"}
	got, err := refs.match([]string{"refs/pull/*/head", "refs/heads/feature/*", "refs/tags/*"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"refs/pull/1/head": "a", "refs/pull/22/head": "c", "refs/heads/feature/x": "d", "refs/tags/v1": "e"}
	if len(got) != len(want) {
		t.Errorf("match = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("match[%s] = %q, want %q", k, got[k], v)
		}
	}
	if _, err := refs.match([]string{"refs/[pull"}); !errors.Is(err, ErrInvalidRef) {
		t.Errorf("bad glob error = %v", err)
	}
}
