package source

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"path/filepath"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/crypto/ssh"
)

// ErrUnverified means a commit (or the annotated tag followed to it) is unsigned, or
// signed by no trusted key, or its signature is malformed or does not match.
var ErrUnverified = errors.New("commit signature not verified")

// TrustedKeys are the public keys commits and tags may be signed with.
type TrustedKeys struct {
	openPGP []string // armoured key rings
	ssh     []ssh.PublicKey
}

// ParseTrustedKeys reads trusted keys from the values of a Secret: each value is an
// armoured OpenPGP public key (block) or SSH public keys in authorized_keys format, one a
// line. The key names of the Secret do not matter.
func ParseTrustedKeys(values map[string][]byte) (TrustedKeys, error) {
	var k TrustedKeys
	for name, v := range values {
		if bytes.Contains(v, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----")) {
			k.openPGP = append(k.openPGP, string(v))
			continue
		}
		for rest := v; len(bytes.TrimSpace(rest)) > 0; {
			pub, _, _, next, err := ssh.ParseAuthorizedKey(rest)
			if err != nil {
				return TrustedKeys{}, fmt.Errorf("key %q: neither an armoured OpenPGP key nor SSH public keys: %w", name, err)
			}
			k.ssh = append(k.ssh, pub)
			rest = next
		}
	}
	if len(k.openPGP) == 0 && len(k.ssh) == 0 {
		return TrustedKeys{}, errors.New("no trusted keys")
	}
	return k, nil
}

// VerifySignature checks that the checkout's commit, and the annotated tag it was reached
// through if any, are signed by the keys, with OpenPGP or SSH signatures, and names the
// keys that signed them. Following an annotated tag, both must verify: a signed tag on an
// unsigned commit, or the reverse, is refused. A lightweight tag has no signature of its
// own; its commit must verify. It reads the objects kept beside the checkout, named by the
// hashes of their bytes.
func (co *Checkout) VerifySignature(keys TrustedKeys) (string, error) {
	var tagSigner string
	if co.Tag != "" {
		s, err := co.verifyTag(keys)
		if err != nil {
			return "", fmt.Errorf("%w: tag %q (object %s): %w", ErrUnverified, co.Revision.Ref, co.Tag, err)
		}
		tagSigner = "; tag by " + s
	}
	objs, err := readObjects(co.Dir+objectsSuffix, 64<<20)
	if err != nil {
		return "", fmt.Errorf("%w: reading commit %s: %w", ErrUnverified, co.Revision.Commit, err)
	}
	o, ok := objs[plumbing.NewHash(filepath.Base(co.Dir))]
	if !ok {
		return "", fmt.Errorf("%w: commit %s is not kept", ErrUnverified, co.Revision.Commit)
	}
	var c object.Commit
	if err := c.Decode(o); err != nil {
		return "", fmt.Errorf("%w: commit %s: %w", ErrUnverified, co.Revision.Commit, err)
	}
	signer, err := verifySigned(c.PGPSignature, &c, keys)
	if err != nil {
		return "", fmt.Errorf("%w: commit %s: %w", ErrUnverified, co.Revision.Commit, err)
	}
	return signer + tagSigner, nil
}

// signedObject is a commit or a tag: Git signs both the same way.
type signedObject interface {
	Verify(armoredKeyRing string) (*openpgp.Entity, error)
	EncodeWithoutSignature(o plumbing.EncodedObject) error
}

func verifySigned(sig string, o signedObject, keys TrustedKeys) (string, error) {
	sig = strings.TrimSpace(sig)
	switch {
	case sig == "":
		return "", errors.New("it is not signed")
	case strings.HasPrefix(sig, "-----BEGIN PGP SIGNATURE-----"):
		for _, ring := range keys.openPGP {
			if e, err := o.Verify(ring); err == nil {
				return "OpenPGP key " + strings.ToUpper(fmt.Sprintf("%x", e.PrimaryKey.Fingerprint)), nil
			}
		}
		return "", errors.New("its OpenPGP signature matches no trusted key")
	case strings.HasPrefix(sig, "-----BEGIN SSH SIGNATURE-----"):
		msg := &plumbing.MemoryObject{}
		if err := o.EncodeWithoutSignature(msg); err != nil {
			return "", err
		}
		r, err := msg.Reader()
		if err != nil {
			return "", err
		}
		defer r.Close()
		var b bytes.Buffer
		if _, err := b.ReadFrom(r); err != nil {
			return "", err
		}
		return verifySSHSig(sig, b.Bytes(), keys.ssh)
	}
	return "", errors.New("its signature is neither OpenPGP nor SSH")
}

// verifySSHSig checks an armoured SSHSIG signature (the format of ssh-keygen -Y sign, which
// git uses with gpg.format=ssh) of message in the "git" namespace, by a trusted key.
func verifySSHSig(armoured string, message []byte, trusted []ssh.PublicKey) (string, error) {
	body := strings.TrimSuffix(strings.TrimPrefix(armoured, "-----BEGIN SSH SIGNATURE-----"), "-----END SSH SIGNATURE-----")
	blob, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(body), ""))
	if err != nil || !bytes.HasPrefix(blob, []byte("SSHSIG")) {
		return "", errors.New("its SSH signature is malformed")
	}
	var sig struct {
		Version       uint32
		PublicKey     []byte
		Namespace     string
		Reserved      string
		HashAlgorithm string
		Signature     []byte
	}
	if err := ssh.Unmarshal(blob[6:], &sig); err != nil || sig.Version != 1 {
		return "", errors.New("its SSH signature is malformed")
	}
	if sig.Namespace != "git" {
		return "", fmt.Errorf("its SSH signature is for namespace %q, not git", sig.Namespace)
	}
	var h hash.Hash
	switch sig.HashAlgorithm {
	case "sha256":
		h = sha256.New()
	case "sha512":
		h = sha512.New()
	default:
		return "", fmt.Errorf("its SSH signature uses the unknown hash %q", sig.HashAlgorithm)
	}
	pub, err := ssh.ParsePublicKey(sig.PublicKey)
	if err != nil {
		return "", errors.New("its SSH signature holds a malformed key")
	}
	known := false
	for _, k := range trusted {
		known = known || bytes.Equal(k.Marshal(), pub.Marshal())
	}
	if !known {
		return "", fmt.Errorf("it is signed by the SSH key %s, which is not trusted", ssh.FingerprintSHA256(pub))
	}
	var s ssh.Signature
	if err := ssh.Unmarshal(sig.Signature, &s); err != nil {
		return "", errors.New("its SSH signature is malformed")
	}
	h.Write(message)
	signed := append([]byte("SSHSIG"), ssh.Marshal(struct {
		Namespace, Reserved, HashAlgorithm string
		Digest                             []byte
	}{sig.Namespace, sig.Reserved, sig.HashAlgorithm, h.Sum(nil)})...)
	if err := pub.Verify(signed, &s); err != nil {
		return "", fmt.Errorf("its SSH signature by %s does not match the commit", ssh.FingerprintSHA256(pub))
	}
	return "SSH key " + ssh.FingerprintSHA256(pub), nil
}
