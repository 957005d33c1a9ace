package main

import (
	"os"
	"strings"
	"testing"
)

// The committed reference is what the generator makes of the types now: a field added to
// the API without `make generate` fails here (and in make verify).
func TestReferenceIsCurrent(t *testing.T) {
	got, err := generate("../../api/v1alpha1")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("docs/api.md is stale: run make generate and commit it")
	}
}

func TestReferenceNamesEveryField(t *testing.T) {
	md, err := generate("../../api/v1alpha1")
	if err != nil {
		t.Fatal(err)
	}
	s := string(md)
	for _, want := range []string{
		"## Repository\n", "## ApplicationSpec\n", "## PreviewStatus\n",
		"| `url` | string | yes |", "| `interval` | metav1.Duration |  | Interval between polls.",
		"Default: `\"1m\"`", "| `environments` | [][Environment](#environment) | yes |",
		"## Health\n", "Values: `Healthy`, `Suspended`, `Unknown`, `Progressing`, `Degraded`.",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("reference lacks %q", want)
		}
	}
}
