package confine

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClean(t *testing.T) {
	cases := []struct {
		in, want string
		err      error
	}{
		{"", ".", nil},
		{"apps/shop", "apps/shop", nil},
		{"apps/../apps/./shop/", "apps/shop", nil},
		{"apps/../..", "", ErrEscapes},
		{"../x", "", ErrEscapes},
		{"/etc/passwd", "", ErrAbsolute},
	}
	for _, c := range cases {
		got, err := Clean(c.in)
		if got != c.want || !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("Clean(%q) = %q, %v; want %q, %v", c.in, got, err, c.want, c.err)
		}
	}
}

// tree makes root/{a.txt,sub/b.txt} and outside/secret.txt next to it.
func tree(t *testing.T) (root, outside string) {
	dir := t.TempDir()
	root, outside = filepath.Join(dir, "root"), filepath.Join(dir, "outside")
	for p, c := range map[string]string{
		filepath.Join(root, "a.txt"): "a", filepath.Join(root, "sub", "b.txt"): "b",
		filepath.Join(outside, "secret.txt"): "secret",
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root, outside
}

func TestReadsStayInside(t *testing.T) {
	root, outside := tree(t)
	must(t, os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(root, "abs-link")))
	must(t, os.Symlink("../outside/secret.txt", filepath.Join(root, "rel-link")))
	must(t, os.Symlink("sub/b.txt", filepath.Join(root, "inside-link")))
	must(t, os.Symlink("../nowhere/at/all", filepath.Join(root, "dangling-link")))
	f, err := Open(root, Limits{})
	must(t, err)
	defer f.Close()

	if data, err := f.ReadFile("inside-link"); err != nil || string(data) != "b" {
		t.Errorf("inside link: %q, %v", data, err)
	}
	for _, p := range []string{"abs-link", "rel-link", "dangling-link", "../outside/secret.txt", "sub/../../outside/secret.txt"} {
		_, err := f.ReadFile(p)
		if !errors.Is(err, ErrEscapes) || !strings.Contains(err.Error(), p) {
			t.Errorf("ReadFile(%q) = %v, want ErrEscapes naming it", p, err)
		}
		if _, err := f.Stat(p); !errors.Is(err, ErrEscapes) {
			t.Errorf("Stat(%q) = %v, want ErrEscapes", p, err)
		}
	}
	if _, err := f.ReadFile("missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestLimits(t *testing.T) {
	root, _ := tree(t)
	f, err := Open(root, Limits{MaxFileBytes: 10, MaxTotalBytes: 1})
	must(t, err)
	defer f.Close()
	if _, err := f.ReadFile("a.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadFile("sub/b.txt"); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "sub/b.txt") {
		t.Errorf("second file past the total: %v", err)
	}
	must(t, os.WriteFile(filepath.Join(root, "big"), make([]byte, 11), 0o644))
	if _, err := f.ReadFile("big"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("file past the per-file limit: %v", err)
	}
}

func TestDepsNoticeChanges(t *testing.T) {
	root, _ := tree(t)
	f, err := Open(root, Limits{})
	must(t, err)
	defer f.Close()
	_, _ = f.ReadFile("a.txt")
	_, _ = f.ReadDir("sub")
	_, _ = f.Stat("not-yet")
	deps := f.Deps()
	if got := deps.Files(); len(got) != 1 || got[0] != "a.txt" {
		t.Errorf("files = %v", got)
	}
	// Deps and its Summary tell the same.
	checks := map[string]func(*FS) bool{"deps": deps.Unchanged, "summary": deps.Summary().Unchanged}
	for kind, unchanged := range checks {
		if !unchanged(f) {
			t.Fatalf("%s: nothing changed yet", kind)
		}
		for name, change := range map[string]func(dir string){
			"content":   func(dir string) { must(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("A"), 0o644)) },
			"listing":   func(dir string) { must(t, os.WriteFile(filepath.Join(dir, "sub", "c.txt"), nil, 0o644)) },
			"existence": func(dir string) { must(t, os.WriteFile(filepath.Join(dir, "not-yet"), nil, 0o644)) },
		} {
			// Another checkout with the same content matches, until it is changed.
			other, _ := tree(t)
			f2, err := Open(other, Limits{})
			must(t, err)
			if !unchanged(f2) {
				t.Fatalf("%s, %s: an identical checkout elsewhere should match", kind, name)
			}
			change(other)
			if unchanged(f2) {
				t.Errorf("%s: %s change was not noticed", kind, name)
			}
			f2.Close()
		}
	}
	if (Deps{}).Summary().Unchanged(f) {
		t.Error("the Summary of no inputs matched a checkout")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
