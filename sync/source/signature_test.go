package source_test

import (
	"errors"
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
