package controllers

import (
	"regexp"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

var hashSuffix = regexp.MustCompile(`-[0-9a-f]{8}$`)

func TestPreviewNamespace(t *testing.T) {
	long := strings.Repeat("feature-", 38)[:300]
	cases := []struct {
		name, template string
		vars           namespaceVars
		want           string // exact, or a prefix when hashed
		hashed         bool
	}{
		{"number", "shop-pr-{{.Number}}", namespaceVars{Number: 12}, "shop-pr-12", false},
		{"short sha", "shop-{{.ShortSHA}}", namespaceVars{ShortSHA: "4f2c9e1"}, "shop-4f2c9e1", false},
		{"safe branch kept", "{{.Branch}}", namespaceVars{Branch: "login-page"}, "login-page", false},
		{"slash and case", "shop-{{.Branch}}", namespaceVars{Branch: "Feature/Login"}, "shop-feature-login-", true},
		{"escape to kube-system", "{{.Branch}}", namespaceVars{Branch: "../kube-system"}, "pr-kube-system-", true},
		{"kube-system itself", "{{.Branch}}", namespaceVars{Branch: "kube-system"}, "pr-kube-system-", true},
		{"any kube- prefix", "kube-{{.Number}}", namespaceVars{Number: 1}, "pr-kube-1-", true},
		{"default", "{{.Branch}}", namespaceVars{Branch: "default"}, "pr-default-", true},
		{"300 characters", "shop-{{.Branch}}", namespaceVars{Branch: long}, "shop-feature-feature-", true},
		{"nothing left", "{{.Branch}}", namespaceVars{Branch: "../.."}, "pr-", true},
		{"dots and underscores", "shop.{{.Branch}}", namespaceVars{Branch: "a_b"}, "shop-a-b-", true},
		{"non-ascii", "shop-{{.Branch}}", namespaceVars{Branch: "fix-ümlaut"}, "shop-fix-mlaut-", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := parseNamespaceTemplate(tc.template)
			if err != nil {
				t.Fatal(err)
			}
			got, err := previewNamespace(tmpl, tc.vars)
			if err != nil {
				t.Fatal(err)
			}
			if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
				t.Fatalf("%q is not a DNS-1123 label: %v", got, errs)
			}
			if reservedNamespace(got) || strings.HasPrefix(got, "kube-") {
				t.Fatalf("%q is reserved", got)
			}
			if !tc.hashed && got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if tc.hashed && (!strings.HasPrefix(got, tc.want) || !hashSuffix.MatchString(got)) {
				t.Fatalf("got %q, want %q… with a hash suffix", got, tc.want)
			}
		})
	}
}

func TestSafeNameNeverMergesDifferentInputs(t *testing.T) {
	inputs := []string{"feature-login", "Feature-Login", "feature/login", "feature_login", "feature--login",
		strings.Repeat("a", 70), strings.Repeat("a", 71), "kube-system", "pr-kube-system"}
	seen := map[string]string{}
	for _, in := range inputs {
		got := safeName(in, maxNamespace)
		if other, ok := seen[got]; ok {
			t.Errorf("%q and %q both make %q", in, other, got)
		}
		seen[got] = in
		if len(got) > maxNamespace {
			t.Errorf("%q makes %q, %d characters", in, got, len(got))
		}
	}
	if got := safeName("x", maxNamespace); got != "x" {
		t.Errorf("a safe name is kept: got %q", got)
	}
}

func TestNamespaceTemplateErrors(t *testing.T) {
	if _, err := parseNamespaceTemplate("shop-{{.Number"); err == nil {
		t.Error("an unterminated action must not parse")
	}
	tmpl, err := parseNamespaceTemplate("shop-{{.Author}}")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := previewNamespace(tmpl, namespaceVars{}); err == nil || !strings.Contains(err.Error(), "Author") {
		t.Errorf("an unknown field must be named, got %v", err)
	}
	tmpl, err = parseNamespaceTemplate(`{{printf "%2000s" "x"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := previewNamespace(tmpl, namespaceVars{}); err == nil {
		t.Error("output past 1024 bytes must be refused")
	}
}

func TestAlternateNamespaceAndChildNames(t *testing.T) {
	alt := alternateNamespace("shop-pr-1", "ns/previews/refs/pull/1/head")
	if alt == "shop-pr-1" || !strings.HasPrefix(alt, "shop-pr-1-") || len(validation.IsDNS1123Label(alt)) > 0 {
		t.Errorf("alternate = %q", alt)
	}
	long := alternateNamespace(strings.Repeat("n", 63), "salt")
	if len(long) > maxNamespace || !hashSuffix.MatchString(long) {
		t.Errorf("alternate of a 63-character name = %q", long)
	}
	cases := map[string]pullRequest{
		"shop-pr-7":          {Number: 7, Ref: "refs/pull/7/head"},
		"shop-feature-x-":    {Ref: "refs/heads/feature/x", Branch: "feature/x"},
		"shop-login":         {Ref: "refs/heads/login", Branch: "login"},
		"shop-pull-7-merge-": {Ref: "refs/pull/7/merge", Branch: "pull/7/merge"},
	}
	for want, pr := range cases {
		got := childName("shop", pr)
		hashed := strings.HasSuffix(want, "-") && strings.HasPrefix(got, want)
		if got != want && !hashed {
			t.Errorf("childName(%+v) = %q, want %q", pr, got, want)
		}
	}
	if got := childName(strings.Repeat("p", 60), pullRequest{Number: 123456}); len(got) > maxChildName || len(validation.IsDNS1123Label(got)) > 0 {
		t.Errorf("long child name %q", got)
	}
}

func TestIngressURL(t *testing.T) {
	ing := &networkingv1.Ingress{Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{}, {Host: "pr-1.preview.example"}}}}
	if got := ingressURL(ing); got != "http://pr-1.preview.example" {
		t.Errorf("got %q", got)
	}
	ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"pr-1.preview.example"}}}
	if got := ingressURL(ing); got != "https://pr-1.preview.example" {
		t.Errorf("with TLS: got %q", got)
	}
	if got := ingressURL(&networkingv1.Ingress{}); got != "" {
		t.Errorf("no host: got %q", got)
	}
}
