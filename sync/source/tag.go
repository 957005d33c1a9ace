package source

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// An annotated tag is an object of its own, with its own signature, that the checkout of
// its commit does not hold. When a fetch follows an annotated tag, the tag object is kept
// in the cache as <repository key>/<tag object SHA-1>.tag (in the encoding of the objects
// files), so its signature can be checked however the commit got into the cache. Like the
// objects files it is trusted only through its name: it is read back by the hash of its
// bytes, when leased and when verified; one that does not match is removed and the tag
// fetched again. Tag objects are a few hundred bytes and are kept as long as the cache.

// maxTagBytes bounds a kept tag object: a tag is a header, a message and a signature.
const maxTagBytes = 1 << 20

// annotatedTag returns the tag object an advertised tag ref points to, or "" for a
// lightweight tag or a ref that is not a tag: an annotated tag is advertised twice, as
// the tag object and peeled ("^{}") to its commit.
func annotatedTag(name plumbing.ReferenceName, advertised refMap) string {
	if !name.IsTag() {
		return ""
	}
	peeled, ok := advertised[name.String()+"^{}"]
	if h := advertised[name.String()]; ok && h != peeled {
		return h
	}
	return ""
}

func (c *Client) tagFile(repoKey, tag string) string {
	return filepath.Join(c.cache.dir(repoKey), tag+".tag")
}

// tagKept says whether the tag object is kept and intact. One that is not (edited on
// disk, truncated) is removed, so the caller fetches the tag again.
func (c *Client) tagKept(repoKey, tag string) bool {
	f := c.tagFile(repoKey, tag)
	objs, err := readObjects(f, maxTagBytes)
	if o, ok := objs[plumbing.NewHash(tag)]; err == nil && ok && o.Type() == plumbing.TagObject {
		return true
	}
	_ = os.Remove(f)
	return false
}

// keepTag writes the annotated tag object that name points to in repo into the cache and
// returns its hash, or "" when name is not an annotated tag.
func (c *Client) keepTag(repo *git.Repository, repoKey string, name plumbing.ReferenceName) (string, error) {
	if !name.IsTag() {
		return "", nil
	}
	ref, err := repo.Reference(name, true)
	if err != nil {
		return "", err
	}
	if _, err := repo.TagObject(ref.Hash()); errors.Is(err, plumbing.ErrObjectNotFound) {
		return "", nil // a lightweight tag
	} else if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(c.cache.tmpDir(), "tag-")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	err = writeObject(tmp, repo, ref.Hash())
	if err = errors.Join(err, tmp.Close()); err != nil {
		return "", fmt.Errorf("keeping tag %s: %w", name.Short(), err)
	}
	dst := c.tagFile(repoKey, ref.Hash().String())
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", fmt.Errorf("keeping tag %s: %w", name.Short(), err)
	}
	return ref.Hash().String(), nil
}

// verifyTag checks that the checkout's annotated tag object is signed by one of the keys.
func (co *Checkout) verifyTag(keys TrustedKeys) (string, error) {
	objs, err := readObjects(co.tagFile, maxTagBytes)
	if err != nil {
		return "", fmt.Errorf("the tag object is not kept: %w", err)
	}
	o, ok := objs[plumbing.NewHash(co.Tag)]
	if !ok || o.Type() != plumbing.TagObject {
		return "", errors.New("the tag object is not kept")
	}
	var t object.Tag
	if err := t.Decode(o); err != nil {
		return "", err
	}
	return verifySigned(t.PGPSignature, &t, keys)
}
