// Package confine reads a checkout without ever leaving it. Every path is relative to the
// checkout root; absolute paths, ".." escapes and symbolic links that lead outside the root
// are refused with an error naming the path. Reads are bounded in size and recorded, so a
// render can later tell whether a new checkout still holds the same inputs (see Deps).
package confine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// Sentinel errors, for errors.Is.
var (
	// ErrAbsolute means a path was absolute where only checkout-relative paths are allowed.
	ErrAbsolute = errors.New("absolute paths are not allowed")
	// ErrEscapes means a path, after "..", or a symbolic link leads outside the checkout.
	ErrEscapes = errors.New("path leads outside the checkout")
	// ErrTooLarge means a file, or all files read together, passed a size limit.
	ErrTooLarge = errors.New("size limit exceeded")
)

// Limits bound what one render may read. Zero fields mean no limit.
type Limits struct {
	MaxFileBytes  int64 // one file
	MaxTotalBytes int64 // all files read through one FS
}

// FS is a read-only view of one checkout. It is safe for concurrent use.
type FS struct {
	dir    string
	root   *os.Root
	limits Limits

	mu        sync.Mutex
	read      int64
	deps      Deps
	transform Transform
}

// Transform turns a file's bytes, as read from the checkout, into what the renderers see
// (a SOPS-encrypted file into its clear form). It runs on every ReadFile; the dependency
// recorded is the file as it is on disk.
type Transform func(rel string, data []byte) ([]byte, error)

// SetTransform makes every later ReadFile pass through t.
func (f *FS) SetTransform(t Transform) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.transform = t
}

// Open confines reads to dir, which must be an existing directory. Close releases it.
func Open(dir string, limits Limits) (*FS, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("checkout root %s: %w", dir, err)
	}
	// The root itself may sit behind a symlink (a cache path, /tmp on macOS); only what is
	// below it is confined.
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("checkout root %s: %w", dir, err)
	}
	root, err := os.OpenRoot(real)
	if err != nil {
		return nil, fmt.Errorf("checkout root %s: %w", dir, err)
	}
	return &FS{dir: real, root: root, limits: limits, deps: Deps{}}, nil
}

// Close releases the root directory handle.
func (f *FS) Close() error { return f.root.Close() }

// Dir is the absolute, symlink-free path of the checkout root.
func (f *FS) Dir() string { return f.dir }

// Clean validates a checkout-relative path and returns it in clean slash form ("." for the
// root). It refuses absolute paths and paths whose ".." climb above the root.
func Clean(rel string) (string, error) {
	if rel == "" {
		return ".", nil
	}
	slashed := filepath.ToSlash(rel)
	if filepath.IsAbs(rel) || strings.HasPrefix(slashed, "/") {
		return "", fmt.Errorf("%s: %w", rel, ErrAbsolute)
	}
	c := path.Clean(slashed)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%s: %w", rel, ErrEscapes)
	}
	return c, nil
}

// Rel turns an absolute path below the root into a clean checkout-relative one.
func (f *FS) Rel(abs string) (string, error) {
	if !filepath.IsAbs(abs) {
		return Clean(abs)
	}
	r, err := filepath.Rel(f.dir, filepath.Clean(abs))
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s: %w", abs, ErrEscapes)
	}
	return filepath.ToSlash(r), nil
}

// Abs is the absolute path of a checkout-relative path (which must be clean).
func (f *FS) Abs(rel string) string { return filepath.Join(f.dir, filepath.FromSlash(rel)) }

// ReadFile reads a whole file within the limits and records it as a dependency.
func (f *FS) ReadFile(rel string) ([]byte, error) {
	data, err := f.readFile(rel, true)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// A file that is missing now and added later changes the render.
			f.record(dep{op: opStat, path: mustClean(rel)}, kindSum(nil))
		}
		return nil, err
	}
	f.record(dep{op: opFile, path: mustClean(rel)}, sum(data))
	f.mu.Lock()
	t := f.transform
	f.mu.Unlock()
	if t != nil {
		return t(mustClean(rel), data)
	}
	return data, nil
}

// readFile reads within the limits; total says whether the read counts against the total.
func (f *FS) readFile(rel string, total bool) ([]byte, error) {
	c, err := Clean(rel)
	if err != nil {
		return nil, err
	}
	file, err := f.root.Open(c)
	if err != nil {
		return nil, f.explain(c, err)
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return nil, f.explain(c, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory, not a file", c)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", c)
	}
	if err := f.charge(c, st.Size(), total); err != nil {
		return nil, err
	}
	// The file may grow between Stat and Read; never read more than was charged plus one
	// byte, which is enough to notice. One buffer of that size (charged, so bounded), not
	// io.ReadAll's doublings: those made a large file cost twice its size while read.
	data := make([]byte, st.Size()+1)
	n, err := io.ReadFull(file, data)
	switch {
	case err == nil:
		return nil, fmt.Errorf("%s: file changed while being read", c)
	case !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	return data[:n:n], nil
}

// charge counts size against the limits.
func (f *FS) charge(rel string, size int64, total bool) error {
	if m := f.limits.MaxFileBytes; m > 0 && size > m {
		return fmt.Errorf("%s: %d bytes, more than the %d-byte file limit: %w", rel, size, m, ErrTooLarge)
	}
	if !total {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if m := f.limits.MaxTotalBytes; m > 0 && f.read+size > m {
		return fmt.Errorf("%s: reading it passes the %d-byte limit for one render: %w", rel, m, ErrTooLarge)
	}
	f.read += size
	return nil
}

// ReadDir lists a directory, sorted by name, and records the listing as a dependency.
func (f *FS) ReadDir(rel string) ([]fs.DirEntry, error) {
	c, err := Clean(rel)
	if err != nil {
		return nil, err
	}
	entries, err := f.readDir(c)
	if err != nil {
		return nil, err
	}
	f.record(dep{op: opDir, path: c}, sumEntries(entries))
	return entries, nil
}

func (f *FS) readDir(c string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(f.root.FS(), c)
	if err != nil {
		return nil, f.explain(c, err)
	}
	return entries, nil
}

// Stat describes a path, following symlinks within the checkout, and records what it found
// (file, directory or nothing), so that a new file appearing later is noticed.
func (f *FS) Stat(rel string) (fs.FileInfo, error) {
	c, err := Clean(rel)
	if err != nil {
		return nil, err
	}
	st, err := f.root.Stat(c)
	if err != nil {
		err = f.explain(c, err)
		if errors.Is(err, fs.ErrNotExist) {
			f.record(dep{op: opStat, path: c}, kindSum(nil))
		}
		return nil, err
	}
	f.record(dep{op: opStat, path: c}, kindSum(st))
	return st, nil
}

// explain turns an os.Root error into one that names the path and says why. os.Root does
// not export its "escapes" error, so a failure is checked against the real path.
func (f *FS) explain(rel string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", rel, fs.ErrNotExist)
	}
	if real, lerr := filepath.EvalSymlinks(f.Abs(rel)); lerr == nil {
		if _, rerr := f.Rel(real); rerr != nil {
			return fmt.Errorf("%s: a symbolic link: %w", rel, ErrEscapes)
		}
	}
	var pe *fs.PathError
	// A link out of the checkout to nothing cannot be resolved above; os.Root says so in
	// its own (unexported) words.
	if errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "escapes") {
		return fmt.Errorf("%s: a symbolic link: %w", rel, ErrEscapes)
	}
	if pe != nil {
		return fmt.Errorf("%s: %w", rel, pe.Err)
	}
	return fmt.Errorf("%s: %w", rel, err)
}

func mustClean(rel string) string {
	c, _ := Clean(rel)
	return c
}

// Real resolves the symbolic links in a checkout-relative path and returns the result, again
// relative to the checkout. A link that leads outside is an error.
func (f *FS) Real(rel string) (string, error) {
	c, err := Clean(rel)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(f.Abs(c))
	if err != nil {
		return "", f.explain(c, err)
	}
	r, err := f.Rel(real)
	if err != nil {
		return "", fmt.Errorf("%s: a symbolic link: %w", c, ErrEscapes)
	}
	return r, nil
}

// Relative rewrites err so its message shows checkout-relative paths instead of where the
// checkout happens to live on disk. errors.Is and errors.As still see the original.
func (f *FS) Relative(err error) error {
	if err == nil {
		return nil
	}
	msg := strings.ReplaceAll(err.Error(), f.dir+string(filepath.Separator), "")
	msg = strings.ReplaceAll(msg, f.dir, ".")
	if msg == err.Error() {
		return err
	}
	return &relativeError{msg: msg, err: err}
}

type relativeError struct {
	msg string
	err error
}

func (e *relativeError) Error() string { return e.msg }
func (e *relativeError) Unwrap() error { return e.err }
