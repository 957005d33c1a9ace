package docs

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoRoot is the repository's top level: docs/ sits directly below it.
const repoRoot = ".."

// skipDirs are never part of a clone's documentation: Git's own data, build output, test
// fixtures that are deliberately broken repositories.
var skipDirs = map[string]bool{".git": true, "bin": true, "dist": true, ".cache": true, "testdata": true}

// link matches an inline Markdown link or image: [text](target) or ![alt](target "title").
var link = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

func markdownFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && skipDirs[d.Name()] {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".md") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found only %d Markdown files under %s: %v", len(files), repoRoot, files)
	}
	return files
}

func TestRelativeLinksResolve(t *testing.T) {
	for _, file := range markdownFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(stripCode(string(data)), -1) {
			if problem := checkLink(file, m[1]); problem != "" {
				t.Errorf("%s: link %q %s", file, m[1], problem)
			}
		}
	}
}

// checkLink says what is wrong with one link target of file, or "" when it resolves.
func checkLink(file, target string) string {
	if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
		return ""
	}
	path, anchor, _ := strings.Cut(target, "#")
	resolved := file
	if path != "" {
		if filepath.IsAbs(path) {
			return "is absolute; use a path relative to the file"
		}
		resolved = filepath.Join(filepath.Dir(file), path)
		if rel, err := filepath.Rel(repoRoot, resolved); err != nil || strings.HasPrefix(rel, "..") {
			return "points outside the repository"
		}
		if _, err := os.Stat(resolved); err != nil {
			return "does not resolve: " + err.Error()
		}
	}
	if anchor != "" && strings.HasSuffix(resolved, ".md") && !hasAnchor(resolved, anchor) {
		return "names a heading that " + resolved + " does not have"
	}
	return ""
}

// hasAnchor reports whether a Markdown file has a heading whose GitHub-style slug is anchor.
func hasAnchor(file, anchor string) bool {
	data, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(stripCode(string(data)), "\n") {
		if strings.HasPrefix(line, "#") && slug(strings.TrimLeft(line, "#")) == anchor {
			return true
		}
	}
	return false
}

var notSlug = regexp.MustCompile(`[^a-z0-9 _-]`)

func slug(heading string) string {
	s := notSlug.ReplaceAllString(strings.ToLower(strings.TrimSpace(heading)), "")
	return strings.ReplaceAll(s, " ", "-")
}

// stripCode drops fenced code blocks, whose brackets and hashes are not links or headings.
func stripCode(md string) string {
	var out []string
	fenced := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// The design used to live next to the repository; a clone has no such folder.
var outside = "../" + "shared"

func TestNothingPointsAtTheOldDesignFolder(t *testing.T) {
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skipDirs[d.Name()] && d.Name() != "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil || !info.Mode().IsRegular() || info.Size() > 1<<20 {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), outside) {
			t.Errorf("%s mentions %s; the design is docs/design.md", path, outside)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCheckLinkFindsBrokenLinks(t *testing.T) {
	readme := filepath.Join(repoRoot, "README.md")
	for target, want := range map[string]bool{
		"docs/design.md":           true,
		"LICENSE":                  true,
		"#security-model":          true,
		"docs/missing.md":          false,
		"#no-such-heading":         false,
		outside + "/design.md":     false,
		"/etc/passwd":              false,
		"https://example.com/x.md": true,
	} {
		if got := checkLink(readme, target) == ""; got != want {
			t.Errorf("checkLink(README.md, %q) resolves = %v, want %v (%s)", target, got, want, checkLink(readme, target))
		}
	}
}
