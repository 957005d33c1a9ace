package render

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CheckoutOf finds the checkout a local path belongs to, for commands run by hand: the Git
// top-level above path (the nearest folder holding .git), or else the current directory,
// which must then contain path. It returns the root and path relative to it.
func CheckoutOf(path string) (root, rel string, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", "", err
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return "", "", err
	}
	for dir := abs; ; dir = filepath.Dir(dir) {
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			root = dir
			break
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	if root == "" {
		if root, err = os.Getwd(); err != nil {
			return "", "", err
		}
		if root, err = filepath.EvalSymlinks(root); err != nil {
			return "", "", err
		}
	}
	rel, err = filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", "", fmt.Errorf("%s is not in a Git checkout nor below the current directory", path)
	}
	return root, filepath.ToSlash(rel), nil
}
