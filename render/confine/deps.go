package confine

import (
	"crypto/sha256"
	"errors"
	"io/fs"
	"sort"
)

type op byte

const (
	opFile op = 'f' // content of a file
	opDir  op = 'd' // names and types in a directory
	opStat op = 's' // whether a path is a file, a directory or missing
)

type dep struct {
	op   op
	path string
}

// Deps is what a render looked at in a checkout: file contents, directory listings and
// existence checks, each with a digest. Two checkouts with the same Deps render the same.
type Deps map[dep][sha256.Size]byte

// Deps returns a copy of everything recorded so far.
func (f *FS) Deps() Deps {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(Deps, len(f.deps))
	for k, v := range f.deps {
		out[k] = v
	}
	return out
}

// Files lists the checkout-relative files whose content was read, sorted.
func (d Deps) Files() []string {
	var out []string
	for k := range d {
		if k.op == opFile {
			out = append(out, k.path)
		}
	}
	sort.Strings(out)
	return out
}

// Unchanged reports whether the checkout behind f still holds every input recorded in d.
// It reads through f but records nothing, and any error counts as a change.
func (d Deps) Unchanged(f *FS) bool {
	for k, want := range d {
		got, ok := f.digest(k)
		if !ok || got != want {
			return false
		}
	}
	return true
}

func (f *FS) digest(k dep) ([sha256.Size]byte, bool) {
	switch k.op {
	case opFile:
		data, err := f.readFile(k.path, false)
		return sum(data), err == nil
	case opDir:
		entries, err := f.readDir(k.path)
		return sumEntries(entries), err == nil
	default:
		st, err := f.root.Stat(k.path)
		if err != nil {
			return kindSum(nil), errors.Is(err, fs.ErrNotExist)
		}
		return kindSum(st), true
	}
}

func (f *FS) record(k dep, s [sha256.Size]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deps[k] = s
}

func sum(data []byte) [sha256.Size]byte { return sha256.Sum256(data) }

func sumEntries(entries []fs.DirEntry) [sha256.Size]byte {
	h := sha256.New()
	for _, e := range entries {
		kind := byte('f')
		if e.IsDir() {
			kind = 'd'
		}
		h.Write([]byte{kind})
		h.Write([]byte(e.Name()))
		h.Write([]byte{0})
	}
	var out [sha256.Size]byte
	copy(out[:], h.Sum(nil))
	return out
}

func kindSum(st fs.FileInfo) [sha256.Size]byte {
	switch {
	case st == nil:
		return sum([]byte("missing"))
	case st.IsDir():
		return sum([]byte("dir"))
	default:
		return sum([]byte("file"))
	}
}

// Summary is Deps in little memory: the inputs to read again, in a fixed order, and one
// digest of their digests. It tells the same as Deps.Unchanged without a digest per input.
type Summary struct {
	inputs []dep
	sum    [sha256.Size]byte
}

// Summary returns d's Summary.
func (d Deps) Summary() Summary {
	s := Summary{inputs: make([]dep, 0, len(d))}
	for k := range d {
		s.inputs = append(s.inputs, k)
	}
	sort.Slice(s.inputs, func(i, j int) bool {
		a, b := s.inputs[i], s.inputs[j]
		return a.path < b.path || (a.path == b.path && a.op < b.op)
	})
	h := sha256.New()
	for _, k := range s.inputs {
		v := d[k]
		h.Write(v[:])
	}
	copy(s.sum[:], h.Sum(nil))
	return s
}

// Unchanged reports whether the checkout behind f still holds every input s was made
// from. It reads through f but records nothing; any error counts as a change, and so does
// a Summary of nothing (no render reads nothing).
func (s Summary) Unchanged(f *FS) bool {
	if len(s.inputs) == 0 {
		return false
	}
	h := sha256.New()
	for _, k := range s.inputs {
		got, ok := f.digest(k)
		if !ok {
			return false
		}
		h.Write(got[:])
	}
	return [sha256.Size]byte(h.Sum(nil)) == s.sum
}
