package render

import (
	"path/filepath"
	"testing"
)

func TestCheckoutOf(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"repo/.git/HEAD": "ref: refs/heads/main\n", "repo/apps/shop/a.yaml": "", "loose/x/a.yaml": ""})

	root, rel, err := CheckoutOf(filepath.Join(dir, "repo/apps/shop"))
	if err != nil || root != filepath.Join(dir, "repo") || rel != "apps/shop" {
		t.Errorf("in a Git checkout: %q, %q, %v", root, rel, err)
	}

	t.Chdir(filepath.Join(dir, "loose"))
	root, rel, err = CheckoutOf("x")
	if err != nil || root != filepath.Join(dir, "loose") || rel != "x" {
		t.Errorf("below the current directory: %q, %q, %v", root, rel, err)
	}
	if _, _, err := CheckoutOf(filepath.Join(dir, "repo", "..", "loose", "..")); err == nil {
		t.Error("a path above the current directory and outside any checkout was accepted")
	}
}
