package gitserver

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/crypto/ssh"
)

// CommitSSHSigned commits files on top of branch as Commit does, signed by git itself with
// the OpenSSH private key in keyFile (gpg.format=ssh), and returns the new commit.
func (s *Server) CommitSSHSigned(tb TB, branch string, files map[string]string, keyFile string) string {
	tb.Helper()
	return s.commitWith(tb, branch, writeFiles(tb, files), func() {
		s.git(tb, s.work, "-c", "gpg.format=ssh", "-c", "user.signingkey="+keyFile,
			"commit", "--quiet", "--no-verify", "-S", "-m", "signed change on "+branch)
	})
}

// CommitPGPSigned commits files on top of branch, signed with the OpenPGP entity by go-git
// (git would need gpg and its agent), pushes with git and returns the new commit.
func (s *Server) CommitPGPSigned(tb TB, branch string, files map[string]string, key *openpgp.Entity) string {
	tb.Helper()
	return s.commitWith(tb, branch, writeFiles(tb, files), func() {
		repo, err := git.PlainOpen(s.work)
		if err != nil {
			tb.Fatal(err)
		}
		wt, err := repo.Worktree()
		if err != nil {
			tb.Fatal(err)
		}
		who := &object.Signature{Name: "Landfall Test", Email: "test@landfall.invalid", When: time.Now()}
		if _, err := wt.Commit("signed change on "+branch, &git.CommitOptions{Author: who, SignKey: key}); err != nil {
			tb.Fatal(err)
		}
	})
}

// TagSSHSigned points the annotated tag name at commit, signed by git with the OpenSSH
// private key in keyFile, and pushes it.
func (s *Server) TagSSHSigned(tb TB, name, commit, keyFile string) {
	tb.Helper()
	s.git(tb, s.work, "-c", "gpg.format=ssh", "-c", "user.signingkey="+keyFile,
		"tag", "--force", "-s", "-m", "release "+name, name, commit)
	s.git(tb, s.work, "push", "--quiet", "--force", "origin", "refs/tags/"+name)
}

// TagPGPSigned points the annotated tag name at commit, signed with the OpenPGP entity by
// go-git, and pushes it with git.
func (s *Server) TagPGPSigned(tb TB, name, commit string, key *openpgp.Entity) {
	tb.Helper()
	s.git(tb, s.work, "fetch", "--quiet", "origin", commit)
	repo, err := git.PlainOpen(s.work)
	if err != nil {
		tb.Fatal(err)
	}
	_ = repo.DeleteTag(name) // --force
	who := &object.Signature{Name: "Landfall Test", Email: "test@landfall.invalid", When: time.Now()}
	if _, err := repo.CreateTag(name, plumbing.NewHash(commit), &git.CreateTagOptions{Tagger: who, Message: "release " + name, SignKey: key}); err != nil {
		tb.Fatal(err)
	}
	s.git(tb, s.work, "push", "--quiet", "--force", "origin", "refs/tags/"+name)
}

func writeFiles(tb TB, files map[string]string) func(dir string) {
	return func(dir string) {
		for name, content := range files {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				tb.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// NewSSHSigningKey writes a new ed25519 private key for CommitSSHSigned and returns its
// path and its public key as an authorized_keys line.
func NewSSHSigningKey(tb TB) (keyFile string, authorized []byte) {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		tb.Fatal(err)
	}
	keyFile = filepath.Join(tb.TempDir(), "signing-key")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		tb.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	return keyFile, ssh.MarshalAuthorizedKey(sshPub)
}

// NewPGPSigningKey makes an OpenPGP key for CommitPGPSigned and returns it with its
// armoured public key.
func NewPGPSigningKey(tb TB) (*openpgp.Entity, []byte) {
	tb.Helper()
	e, err := openpgp.NewEntity("Landfall Test", "", "test@landfall.invalid", nil)
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err == nil {
		err = errors.Join(e.Serialize(w), w.Close())
	}
	if err != nil {
		tb.Fatal(err)
	}
	return e, buf.Bytes()
}
