package kustomize

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/landfall-dev/landfall/render/confine"
	"github.com/landfall-dev/landfall/render/manifest"
)

// errReadOnly is returned by every method that would change the checkout.
var errReadOnly = errors.New("the checkout is read-only during a render")

// confinedFS adapts a confine.FS to the filesystem interface krusty reads through. Krusty
// works with absolute paths; each is mapped back into the checkout, so nothing outside it
// (after following symlinks) can be read, listed or even probed.
type confinedFS struct {
	fsys     *confine.FS
	maxNodes int
	refusal  *error // the first read refused for safety; krusty's messages flatten it
}

// refuse remembers err when it is a safety refusal rather than an ordinary miss (krusty
// probes for files that may not exist).
func (c confinedFS) refuse(err error) error {
	if *c.refusal == nil && (errors.Is(err, confine.ErrEscapes) || errors.Is(err, confine.ErrAbsolute) ||
		errors.Is(err, confine.ErrTooLarge) || errors.Is(err, manifest.ErrAliasBomb)) {
		*c.refusal = err
	}
	return err
}

var _ filesys.FileSystem = confinedFS{}

func (c confinedFS) rel(p string) (string, error) {
	if filepath.IsAbs(p) {
		r, err := c.fsys.Rel(p)
		return r, c.refuse(err)
	}
	r, err := confine.Clean(p)
	return r, c.refuse(err)
}

func (c confinedFS) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (c confinedFS) Mkdir(string) error                  { return errReadOnly }
func (c confinedFS) MkdirAll(string) error               { return errReadOnly }
func (c confinedFS) RemoveAll(string) error              { return errReadOnly }
func (c confinedFS) WriteFile(string, []byte) error      { return errReadOnly }

// ReadFile reads a file and refuses YAML alias bombs before krusty parses (and expands) it.
func (c confinedFS) ReadFile(p string) ([]byte, error) {
	r, err := c.rel(p)
	if err != nil {
		return nil, err
	}
	data, err := c.fsys.ReadFile(r)
	if err != nil {
		return nil, c.refuse(err)
	}
	if err := manifest.CheckAliases(r, data, c.maxNodes); err != nil {
		return nil, c.refuse(err)
	}
	return data, nil
}

func (c confinedFS) Open(p string) (filesys.File, error) {
	data, err := c.ReadFile(p)
	if err != nil {
		return nil, err
	}
	r, _ := c.rel(p)
	st, err := c.fsys.Stat(r)
	if err != nil {
		return nil, err
	}
	return &memFile{Reader: bytes.NewReader(data), info: st}, nil
}

func (c confinedFS) stat(p string) (fs.FileInfo, error) {
	r, err := c.rel(p)
	if err != nil {
		return nil, err
	}
	st, err := c.fsys.Stat(r)
	return st, c.refuse(err)
}

func (c confinedFS) Exists(p string) bool {
	_, err := c.stat(p)
	return err == nil
}

func (c confinedFS) IsDir(p string) bool {
	st, err := c.stat(p)
	return err == nil && st.IsDir()
}

func (c confinedFS) ReadDir(p string) ([]string, error) {
	r, err := c.rel(p)
	if err != nil {
		return nil, err
	}
	entries, err := c.fsys.ReadDir(r)
	if err != nil {
		return nil, c.refuse(err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// CleanedAbs resolves symlinks like the on-disk filesystem does (krusty compares these paths
// to detect cycles and to keep files under their kustomization), but only within the checkout.
func (c confinedFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	r, err := c.rel(p)
	if err != nil {
		return "", "", err
	}
	st, err := c.fsys.Stat(r)
	if err != nil {
		return "", "", c.refuse(err)
	}
	real, err := c.fsys.Real(r)
	if err != nil {
		return "", "", c.refuse(err)
	}
	abs := c.fsys.Abs(real)
	if st.IsDir() {
		return filesys.ConfirmedDir(abs), "", nil
	}
	return filesys.ConfirmedDir(filepath.Dir(abs)), filepath.Base(abs), nil
}

// Glob supports patterns in the last path element only, which is all kustomize needs.
func (c confinedFS) Glob(pattern string) ([]string, error) {
	dir, base := filepath.Split(pattern)
	if strings.ContainsAny(dir, `*?[\`) {
		return nil, fmt.Errorf("glob %s: patterns are only supported in the last path element", pattern)
	}
	names, err := c.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, n := range names {
		ok, err := path.Match(base, n)
		if err != nil {
			return nil, fmt.Errorf("glob %s: %w", pattern, err)
		}
		if ok && (!strings.HasPrefix(n, ".") || strings.HasPrefix(base, ".")) {
			out = append(out, filepath.Join(dir, n))
		}
	}
	sort.Strings(out)
	return out, nil
}

// Walk visits p and everything below it in lexical order.
func (c confinedFS) Walk(p string, fn filepath.WalkFunc) error {
	st, err := c.stat(p)
	if err != nil {
		return fn(p, nil, err)
	}
	return c.walk(p, st, fn)
}

func (c confinedFS) walk(p string, st fs.FileInfo, fn filepath.WalkFunc) error {
	if err := fn(p, st, nil); err != nil || !st.IsDir() {
		if errors.Is(err, filepath.SkipDir) {
			return nil
		}
		return err
	}
	names, err := c.ReadDir(p)
	if err != nil {
		return fn(p, st, err)
	}
	for _, n := range names {
		child := filepath.Join(p, n)
		cst, err := c.stat(child)
		if err != nil {
			if err := fn(child, nil, err); err != nil {
				return err
			}
			continue
		}
		if err := c.walk(child, cst, fn); err != nil {
			return err
		}
	}
	return nil
}

// memFile is a file already read into memory.
type memFile struct {
	*bytes.Reader
	info fs.FileInfo
}

func (m *memFile) Write([]byte) (int, error)  { return 0, errReadOnly }
func (m *memFile) Close() error               { return nil }
func (m *memFile) Stat() (os.FileInfo, error) { return m.info, nil }
