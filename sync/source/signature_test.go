package source_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall-dev/landfall/sync/source"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// TestVerifySignature: commits signed with an SSH key (by git) and an OpenPGP key (by
// go-git) verify against their public keys; an unsigned commit, a commit signed by another
// key and a Secret without usable keys do not.
func TestVerifySignature(t *testing.T) {
	srv, _ := integrityRepo(t)
	c := newClient(t, source.Options{})
	main := source.Ref{Branch: "main"}
	sshKey, sshPub := gitserver.NewSSHSigningKey(t)
	otherSSHKey, _ := gitserver.NewSSHSigningKey(t)
	pgpKey, pgpPub := gitserver.NewPGPSigningKey(t)
	otherPGP, _ := gitserver.NewPGPSigningKey(t)
	trusted, err := source.ParseTrustedKeys(map[string][]byte{"ssh": sshPub, "pgp.asc": pgpPub})
	must(t, err)

	verify := func() (string, error) {
		co := checkout(t, c, srv.URL, main, basic(srv))
		return co.VerifySignature(trusted)
	}
	srv.CommitSSHSigned(t, "main", map[string]string{"app.yaml": "ssh"}, sshKey)
	if signer, err := verify(); err != nil || !strings.HasPrefix(signer, "SSH key SHA256:") {
		t.Errorf("SSH-signed commit: %q, %v", signer, err)
	}
	srv.CommitPGPSigned(t, "main", map[string]string{"app.yaml": "pgp"}, pgpKey)
	if signer, err := verify(); err != nil || !strings.HasPrefix(signer, "OpenPGP key ") {
		t.Errorf("OpenPGP-signed commit: %q, %v", signer, err)
	}

	for name, tc := range map[string]struct {
		commit func()
		reason string
	}{
		"unsigned":          {func() { srv.Commit(t, "main", map[string]string{"app.yaml": "u"}) }, "not signed"},
		"other SSH key":     {func() { srv.CommitSSHSigned(t, "main", map[string]string{"app.yaml": "o"}, otherSSHKey) }, "not trusted"},
		"other OpenPGP key": {func() { srv.CommitPGPSigned(t, "main", map[string]string{"app.yaml": "p"}, otherPGP) }, "matches no trusted key"},
	} {
		tc.commit()
		if _, err := verify(); !errors.Is(err, source.ErrUnverified) || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s: %v; want ErrUnverified saying %q", name, err, tc.reason)
		}
	}
	if _, err := source.ParseTrustedKeys(map[string][]byte{"x": []byte("not a key")}); err == nil {
		t.Error("a Secret without keys was accepted")
	}
}

// TestVerifyTagSignature: following an annotated tag, the tag's own signature is verified
// as well as its commit's, with SSH and OpenPGP keys, whether the commit came into the
// cache through the tag or through a branch; a kept tag object edited on disk is fetched
// again; an unsigned tag, a tag signed by another key and a signed tag on an unsigned
// commit are refused, naming the tag (or the commit) and why; a lightweight tag needs only
// its commit signed.
func TestVerifyTagSignature(t *testing.T) {
	srv, _ := integrityRepo(t)
	cacheDir := t.TempDir()
	c := newClient(t, source.Options{CacheDir: cacheDir})
	sshKey, sshPub := gitserver.NewSSHSigningKey(t)
	otherSSHKey, _ := gitserver.NewSSHSigningKey(t)
	pgpKey, pgpPub := gitserver.NewPGPSigningKey(t)
	otherPGP, _ := gitserver.NewPGPSigningKey(t)
	trusted, err := source.ParseTrustedKeys(map[string][]byte{"ssh": sshPub, "pgp.asc": pgpPub})
	must(t, err)
	release := source.Ref{Tag: "release"}
	verify := func() (*source.Checkout, string, error) {
		co := checkout(t, c, srv.URL, release, basic(srv))
		signer, err := co.VerifySignature(trusted)
		return co, signer, err
	}

	signed := srv.CommitSSHSigned(t, "main", map[string]string{"app.yaml": "signed"}, sshKey)
	checkout(t, c, srv.URL, source.Ref{Branch: "main"}, basic(srv)) // the commit is cached without the tag
	srv.TagSSHSigned(t, "release", signed, sshKey)
	if co, signer, err := verify(); err != nil || co.Tag == "" || !strings.Contains(signer, "; tag by SSH key SHA256:") {
		t.Errorf("SSH-signed tag: tag object %q, signer %q, %v", co.Tag, signer, err)
	}
	srv.TagPGPSigned(t, "release", signed, pgpKey)
	if _, signer, err := verify(); err != nil || !strings.Contains(signer, "; tag by OpenPGP key ") {
		t.Errorf("OpenPGP-signed tag: signer %q, %v", signer, err)
	}
	// The kept tag object is trusted only by its hash: an edit to it is refused.
	kept, err := filepath.Glob(filepath.Join(cacheDir, "*", "*.tag"))
	must(t, err)
	if len(kept) == 0 {
		t.Fatal("no tag object kept in the cache")
	}
	for _, f := range kept {
		b, err := os.ReadFile(f)
		must(t, err)
		must(t, os.WriteFile(f, bytes.Replace(b, []byte("release release"), []byte("release tampered"), 1), 0o600))
	}
	co, signer, err := verify()
	if err != nil || !strings.Contains(signer, "; tag by OpenPGP key ") {
		t.Errorf("tampered tag object: signer %q, %v; want it fetched again and verified", signer, err)
	}
	for _, f := range kept {
		if b, err := os.ReadFile(f); strings.HasPrefix(filepath.Base(f), co.Tag) && (err != nil || bytes.Contains(b, []byte("release tampered"))) {
			t.Errorf("the tag object %s was not fetched again: %v", f, err)
		}
	}

	for name, tc := range map[string]struct {
		tag    func()
		reason string
	}{
		"unsigned tag":      {func() { srv.Tag(t, "release", signed, true) }, `tag "release"`},
		"other SSH key":     {func() { srv.TagSSHSigned(t, "release", signed, otherSSHKey) }, "not trusted"},
		"other OpenPGP key": {func() { srv.TagPGPSigned(t, "release", signed, otherPGP) }, "matches no trusted key"},
	} {
		tc.tag()
		_, _, err := verify()
		if !errors.Is(err, source.ErrUnverified) || !strings.Contains(err.Error(), `tag "release"`) || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s: %v; want ErrUnverified naming the tag, saying %q", name, err, tc.reason)
		}
	}
	srv.Tag(t, "release", signed, true)
	if _, _, err := verify(); err == nil || !strings.Contains(err.Error(), "not signed") {
		t.Errorf("unsigned tag: %v; want it said the tag is not signed", err)
	}

	unsigned := srv.Commit(t, "main", map[string]string{"app.yaml": "unsigned"})
	srv.TagSSHSigned(t, "release", unsigned, sshKey)
	if _, _, err := verify(); !errors.Is(err, source.ErrUnverified) || !strings.Contains(err.Error(), "commit "+unsigned) {
		t.Errorf("signed tag on an unsigned commit: %v; want the commit refused", err)
	}
	srv.Tag(t, "release", signed, false)
	if co, _, err := verify(); err != nil || co.Tag != "" {
		t.Errorf("lightweight tag on a signed commit: tag object %q, %v", co.Tag, err)
	}
}
