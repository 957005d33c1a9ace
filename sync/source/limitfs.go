package source

import (
	"os"
	"sync/atomic"

	"github.com/go-git/go-billy/v5"
)

// budget counts bytes and files written through limitFS and fails writes past the limits,
// so an oversized repository is stopped while it arrives instead of after it filled the
// disk. A limit of zero or less means unlimited.
type budget struct {
	maxBytes int64
	maxFiles int64
	bytes    atomic.Int64
	files    atomic.Int64
	// tooLarge and tooMany build the errors, which name the limit that was hit.
	tooLarge func() error
	tooMany  func() error
}

func (b *budget) addBytes(n int) error {
	if b.bytes.Add(int64(n)) > b.maxBytes && b.maxBytes > 0 {
		return b.tooLarge()
	}
	return nil
}

func (b *budget) addFile() error {
	if b.files.Add(1) > b.maxFiles && b.maxFiles > 0 {
		return b.tooMany()
	}
	return nil
}

// limitFS wraps a billy filesystem and charges every created file and written byte to a
// budget. It wraps the files and chroots it hands out, so nothing escapes the count.
type limitFS struct {
	billy.Filesystem
	b *budget
}

func (fs *limitFS) Create(name string) (billy.File, error) {
	return fs.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
}

func (fs *limitFS) OpenFile(name string, flag int, perm os.FileMode) (billy.File, error) {
	if name == ".git" {
		// The gitdir pointer go-git writes at the root; it is removed before the
		// checkout is used, so it does not count.
		return fs.Filesystem.OpenFile(name, flag, perm)
	}
	if flag&os.O_CREATE != 0 {
		if err := fs.b.addFile(); err != nil {
			return nil, err
		}
	}
	f, err := fs.Filesystem.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &limitFile{File: f, b: fs.b}, nil
}

func (fs *limitFS) TempFile(dir, prefix string) (billy.File, error) {
	f, err := fs.Filesystem.TempFile(dir, prefix)
	if err != nil {
		return nil, err
	}
	return &limitFile{File: f, b: fs.b}, nil
}

func (fs *limitFS) Symlink(target, link string) error {
	if err := fs.b.addFile(); err != nil {
		return err
	}
	if err := fs.b.addBytes(len(target)); err != nil {
		return err
	}
	return fs.Filesystem.Symlink(target, link)
}

func (fs *limitFS) Chroot(path string) (billy.Filesystem, error) {
	sub, err := fs.Filesystem.Chroot(path)
	if err != nil {
		return nil, err
	}
	return &limitFS{Filesystem: sub, b: fs.b}, nil
}

// limitFile charges writes to the budget before they reach the disk.
type limitFile struct {
	billy.File
	b *budget
}

func (f *limitFile) Write(p []byte) (int, error) {
	if err := f.b.addBytes(len(p)); err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

// exceeded returns the limit error if the budget was overrun, else nil.
func (b *budget) exceeded() error {
	if b.maxBytes > 0 && b.bytes.Load() > b.maxBytes {
		return b.tooLarge()
	}
	if b.maxFiles > 0 && b.files.Load() > b.maxFiles {
		return b.tooMany()
	}
	return nil
}
