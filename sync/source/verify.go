package source

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxLinkHops bounds symlink chains, as the kernel does (ELOOP).
const maxLinkHops = 40

// verifyTree refuses a checkout with a symlink that resolves outside root or into a .git
// directory. Resolution follows links component by component, as the kernel would, so a
// chain (a -> b/.., b -> .) cannot escape where a lexical check would pass it.
func verifyTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if err := checkLink(root, rel); err != nil {
			return fmt.Errorf("%w: %w", ErrUnsafeCheckout, err)
		}
		return nil
	})
}

// checkLink resolves the symlink at rel (relative to root) and reports where it leaves.
func checkLink(root, rel string) error {
	target, err := os.Readlink(filepath.Join(root, rel))
	if err != nil {
		return err
	}
	if filepath.IsAbs(target) {
		return fmt.Errorf("symlink %s points to the absolute path %q", rel, target)
	}
	// stack is the resolved path so far, relative to root; pending is what remains.
	stack := splitPath(filepath.Dir(rel))
	pending := splitPath(target)
	for hops := 0; len(pending) > 0; {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case ".":
			continue
		case "..":
			if len(stack) == 0 {
				return fmt.Errorf("symlink %s points outside the checkout (%q)", rel, target)
			}
			stack = stack[:len(stack)-1]
			continue
		case ".git":
			return fmt.Errorf("symlink %s points into .git (%q)", rel, target)
		}
		stack = append(stack, c)
		fi, err := os.Lstat(filepath.Join(root, filepath.Join(stack...)))
		if errors.Is(err, fs.ErrNotExist) {
			continue // A missing component cannot be a link: the rest resolves lexically.
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		if hops++; hops > maxLinkHops {
			return fmt.Errorf("symlink %s: too many levels of symlinks", rel)
		}
		next, err := os.Readlink(filepath.Join(root, filepath.Join(stack...)))
		if err != nil {
			return err
		}
		if filepath.IsAbs(next) {
			return fmt.Errorf("symlink %s leads to the absolute path %q", rel, next)
		}
		stack = stack[:len(stack)-1]
		pending = append(splitPath(next), pending...)
	}
	return nil
}

func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(filepath.ToSlash(p), "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}
