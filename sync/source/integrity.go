package source

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// A checkout on disk is trusted only once it is proven to be its commit's tree. Beside each
// checkout directory <commit> the cache keeps <commit>.objects: the commit object and every
// tree object it reaches, in Git's own encoding. Verification hashes each kept object and
// follows the chain from the directory's name (the commit's SHA-1) down: commit → root
// tree → subtrees, then hashes every file and symlink on disk as a Git blob and compares
// the modes and the set of names. Nothing in the objects file is trusted on its own: an
// edit to it breaks the hash chain.
//
// A full verification reads every byte. Once an entry verified in this process, later
// leases compare a digest of the checkout's file metadata (inode, size, mode, mtime,
// ctime), as Git's index does: a write to any file changes its ctime, which user space
// cannot set back. A changed digest triggers a full verification again.

// ErrCheckoutMismatch means a cached checkout is not its commit's tree: a file was
// changed, added or removed on disk, or the kept Git objects are missing or damaged. The
// entry is discarded; nothing of it is served.
var ErrCheckoutMismatch = errors.New("cached checkout does not match its commit")

const objectsSuffix = ".objects"

// keepObjects writes the commit object and every tree object of commit's tree to file.
func keepObjects(repo *git.Repository, commit plumbing.Hash, file string) error {
	c, err := repo.CommitObject(commit)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	err = writeObject(w, repo, commit)
	seen := map[plumbing.Hash]bool{}
	pending := []plumbing.Hash{c.TreeHash}
	for err == nil && len(pending) > 0 {
		h := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		if seen[h] {
			continue // identical subtrees are kept once
		}
		seen[h] = true
		var t *object.Tree
		if t, err = repo.TreeObject(h); err != nil {
			break
		}
		for _, e := range t.Entries {
			if e.Mode == filemode.Dir {
				pending = append(pending, e.Hash)
			}
		}
		err = writeObject(w, repo, h)
	}
	return errors.Join(err, w.Flush(), f.Close())
}

// writeObject appends one object as "<type> <size>\x00<content>": the bytes whose SHA-1 is
// the object's name.
func writeObject(w io.Writer, repo *git.Repository, h plumbing.Hash) error {
	o, err := repo.Storer.EncodedObject(plumbing.AnyObject, h)
	if err != nil {
		return err
	}
	r, err := o.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	if _, err := fmt.Fprintf(w, "%s %d\x00", o.Type(), o.Size()); err != nil {
		return err
	}
	_, err = io.Copy(w, r)
	return err
}

// keptObjects are the objects read back from an objects file, by the hash of their bytes.
type keptObjects map[plumbing.Hash]*plumbing.MemoryObject

// readObjects reads an objects file of at most limit bytes; every object is named by the
// hash of what was read, never by anything the file claims.
func readObjects(file string, limit int64) (keptObjects, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReader(io.LimitReader(f, limit+1))
	out := keptObjects{}
	var total int64
	for {
		header, err := r.ReadString(0)
		if errors.Is(err, io.EOF) && header == "" {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("kept objects: truncated header")
		}
		o, err := parseObject(r, header)
		if err != nil {
			return nil, err
		}
		if total += o.Size(); total > limit {
			return nil, fmt.Errorf("kept objects exceed %d bytes", limit)
		}
		out[o.Hash()] = o
	}
}

func parseObject(r io.Reader, header string) (*plumbing.MemoryObject, error) {
	typ, size, ok := bytes.Cut([]byte(header[:len(header)-1]), []byte(" "))
	n, err := strconv.ParseInt(string(size), 10, 64)
	t, terr := plumbing.ParseObjectType(string(typ))
	if !ok || err != nil || n < 0 || terr != nil || (t != plumbing.CommitObject && t != plumbing.TreeObject && t != plumbing.TagObject) {
		return nil, fmt.Errorf("kept objects: bad header %q", header[:min(len(header), 40)])
	}
	o := &plumbing.MemoryObject{}
	o.SetType(t)
	o.SetSize(n)
	if _, err := io.CopyN(o, r, n); err != nil {
		return nil, fmt.Errorf("kept objects: truncated %s", t)
	}
	return o, nil
}

// verifyCheckout proves that dir holds exactly the tree of commit, by the objects kept in
// objectsFile (at most limit bytes). The error wraps ErrCheckoutMismatch and names the
// first path that differs.
func verifyCheckout(dir, objectsFile, commit string, limit int64) error {
	objs, err := readObjects(objectsFile, limit)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCheckoutMismatch, err)
	}
	co, ok := objs[plumbing.NewHash(commit)]
	if !ok || co.Type() != plumbing.CommitObject {
		return fmt.Errorf("%w: the commit object is not kept", ErrCheckoutMismatch)
	}
	var c object.Commit
	if err := c.Decode(co); err != nil {
		return fmt.Errorf("%w: commit %s: %w", ErrCheckoutMismatch, commit, err)
	}
	v := &treeVerifier{root: dir, objs: objs}
	if err := v.tree(".", c.TreeHash); err != nil {
		return fmt.Errorf("%w: %w", ErrCheckoutMismatch, err)
	}
	return nil
}

type treeVerifier struct {
	root string
	objs keptObjects
}

// tree compares the directory rel with the tree h, recursively.
func (v *treeVerifier) tree(rel string, h plumbing.Hash) error {
	o, ok := v.objs[h]
	if !ok || o.Type() != plumbing.TreeObject {
		return fmt.Errorf("tree %s of %s is not kept", h, rel)
	}
	var t object.Tree
	if err := t.Decode(o); err != nil {
		return fmt.Errorf("tree of %s: %w", rel, err)
	}
	names, err := readDirNames(filepath.Join(v.root, rel))
	if err != nil {
		return err
	}
	want := make(map[string]bool, len(t.Entries))
	for _, e := range t.Entries {
		want[e.Name] = true
		if err := v.entry(path.Join(rel, e.Name), e); err != nil {
			return err
		}
	}
	for _, n := range names {
		if !want[n] {
			return fmt.Errorf("%s is not in the commit", path.Join(rel, n))
		}
	}
	return nil
}

func (v *treeVerifier) entry(rel string, e object.TreeEntry) error {
	p := filepath.Join(v.root, filepath.FromSlash(rel))
	fi, err := os.Lstat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && e.Mode == filemode.Submodule {
			return nil
		}
		return fmt.Errorf("%s: %w", rel, err)
	}
	switch e.Mode {
	case filemode.Dir:
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", rel)
		}
		return v.tree(rel, e.Hash)
	case filemode.Submodule:
		// go-git leaves a submodule as an empty directory.
		names, err := readDirNames(p)
		if err != nil || len(names) > 0 {
			return fmt.Errorf("submodule %s is not an empty directory", rel)
		}
		return nil
	case filemode.Symlink:
		if fi.Mode()&fs.ModeSymlink == 0 {
			return fmt.Errorf("%s is not a symlink", rel)
		}
		target, err := os.Readlink(p)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		if plumbing.ComputeHash(plumbing.BlobObject, []byte(target)) != e.Hash {
			return fmt.Errorf("symlink %s points elsewhere than in the commit", rel)
		}
		return nil
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", rel)
	}
	if exec := fi.Mode().Perm()&0o100 != 0; exec != (e.Mode == filemode.Executable) {
		return fmt.Errorf("%s: mode %o, want %s", rel, fi.Mode().Perm(), e.Mode)
	}
	return hashFile(p, rel, e.Hash)
}

// hashFile hashes the file as a Git blob, reading the size from the open file so a swap
// between stat and read cannot pass.
func hashFile(p, rel string, want plumbing.Hash) error {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", rel)
	}
	h := plumbing.NewHasher(plumbing.BlobObject, fi.Size())
	if n, err := io.Copy(h, f); err != nil || n != fi.Size() {
		return fmt.Errorf("%s changed while it was read", rel)
	}
	if h.Sum() != want {
		return fmt.Errorf("%s differs from the commit's content", rel)
	}
	return nil
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// statDigest sums the metadata of every file and directory below each root, in lexical
// order. Any write, creation, removal, rename or chmod below them changes it.
func statDigest(roots ...string) ([32]byte, error) {
	h := sha256.New()
	var buf [8]byte
	put := func(v int64) {
		binary.LittleEndian.PutUint64(buf[:], uint64(v))
		h.Write(buf[:])
	}
	var err error
	for _, root := range roots {
		err = errors.Join(err, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			h.Write([]byte(p))
			h.Write([]byte{0})
			put(int64(fi.Mode()))
			put(fi.Size())
			put(fi.ModTime().UnixNano())
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				put(int64(st.Ino))
				put(st.Ctim.Sec)
				put(st.Ctim.Nsec)
			}
			return nil
		}))
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, err
}

// acquireVerified leases the entry for key when it is cached and proven to be its commit's
// tree. A mismatch discards the entry and returns an error wrapping ErrCheckoutMismatch.
func (c *Client) acquireVerified(key string) (*cacheEntry, bool, error) {
	e, ok := c.cache.acquire(key)
	if !ok {
		return nil, false, nil
	}
	if err := c.verifyEntry(e); err != nil {
		c.verifyFailures.Add(1)
		c.cache.discard(e)
		c.cache.release(e)
		return nil, false, err
	}
	return e, true, nil
}

// verifyEntry verifies e fully the first time in this process, and after that whenever
// its metadata digest changed. A watched entry that saw no event is served without
// comparing (see watch.go).
func (c *Client) verifyEntry(e *cacheEntry) error {
	e.verifyMu.Lock()
	defer e.verifyMu.Unlock()
	now := time.Now()
	if c.watch.quiet(e, now) {
		return nil
	}
	c.comparisons.Add(1)
	before, err := statDigest(e.dir, e.dir+objectsSuffix)
	if err != nil {
		e.verified = false
		return fmt.Errorf("%w: %w", ErrCheckoutMismatch, err)
	}
	if e.verified && before == e.digest && (!e.watched || !e.dirty.Load()) {
		e.compared = now // unwatched, or watched and only the recheck came due
		return nil
	}
	if !e.verified || before != e.digest {
		c.verifications.Add(1)
		if err := verifyCheckout(e.dir, e.dir+objectsSuffix, path.Base(e.key), c.opts.MaxRepoBytes); err != nil {
			e.verified = false
			return err
		}
	}
	// Watching starts before the second comparison: a change before it shows there, one
	// after it as an event. A write during a verification could have come after its file
	// was read.
	e.watched = c.watch.watch(e)
	after, err := statDigest(e.dir, e.dir+objectsSuffix)
	if err != nil || after != before {
		e.verified = false
		return fmt.Errorf("%w: the checkout changed while it was verified", ErrCheckoutMismatch)
	}
	e.digest, e.verified, e.compared = after, true, now
	return nil
}
