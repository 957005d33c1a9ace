// Package decrypt holds the age keys that open SOPS-encrypted files, in memory. A render
// reads every file of the checkout through Keys.File: a file that carries SOPS metadata comes
// back in clear, its MAC verified, and nothing in clear is ever written anywhere. Errors name
// the file and why, never a value: the MAC sops computes is a hash of the clear values, and a
// hash of a short password can be searched, so sops's own messages are not passed on.
//
// The SOPS format itself is read by package sopsfile, which registers itself here
// (RegisterOpener) when a program imports it: the sops library links the clients of every
// cloud key service (640 packages), and the engines and their tests need none of them. A
// program that does not import sopsfile refuses every SOPS-encrypted file.
package decrypt

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"filippo.io/age"
)

// Sentinel errors, for errors.Is.
var (
	// ErrNoKeys means a file is encrypted and no decryption keys were given.
	ErrNoKeys = errors.New("the file is SOPS-encrypted and no decryption keys are configured")
	// ErrWrongKey means none of the given keys opens the file's data key.
	ErrWrongKey = errors.New("none of the decryption keys opens the file")
	// ErrTampered means the file was changed after it was encrypted: a value or the MAC
	// does not verify.
	ErrTampered = errors.New("the file was changed after it was encrypted (MAC mismatch)")
	// ErrMalformed means the file carries SOPS metadata that cannot be read.
	ErrMalformed = errors.New("the file's SOPS metadata cannot be read")
	// ErrKeys means the decryption keys themselves cannot be read.
	ErrKeys = errors.New("invalid age keys")
)

// KeySuffix ends the keys of a decryption Secret that hold age identities, as in Flux.
const KeySuffix = ".agekey"

// Keys is a set of age identities. A nil or empty Keys decrypts nothing and refuses every
// encrypted file with ErrNoKeys. It never reads keys from the environment or the home
// directory, as the sops command does.
type Keys struct {
	ids  []age.Identity
	text []string // one identity per entry, sorted: what crosses the pipe to a render child
}

// Parse reads age identities, one or more per text, one a line; blank lines and lines
// starting with # are skipped.
func Parse(texts ...string) (*Keys, error) {
	k := &Keys{}
	for _, t := range texts {
		for line := range strings.Lines(t) {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			id, err := age.ParseX25519Identity(line)
			if err != nil {
				hid, herr := age.ParseHybridIdentity(line)
				if herr != nil {
					// The line may be a private key: never quote it.
					return nil, fmt.Errorf("%w: a line is not an age identity (AGE-SECRET-KEY-1…)", ErrKeys)
				}
				k.ids = append(k.ids, hid)
			} else {
				k.ids = append(k.ids, id)
			}
			k.text = append(k.text, line)
		}
	}
	sort.Strings(k.text)
	return k, nil
}

// ParseSecret reads the identities of a decryption Secret's data: every key ending in
// ".agekey". A Secret with none is an error.
func ParseSecret(data map[string][]byte) (*Keys, error) {
	names := make([]string, 0, len(data))
	for name := range data {
		if strings.HasSuffix(name, KeySuffix) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: no key ending in %s", ErrKeys, KeySuffix)
	}
	sort.Strings(names)
	texts := make([]string, len(names))
	for i, n := range names {
		texts[i] = string(data[n])
	}
	k, err := Parse(texts...)
	if err != nil {
		return nil, err
	}
	if k.Empty() {
		return nil, fmt.Errorf("%w: the %s keys hold no identity", ErrKeys, KeySuffix)
	}
	return k, nil
}

// Empty reports whether k holds no identity.
func (k *Keys) Empty() bool { return k == nil || len(k.ids) == 0 }

// Identities returns the identities as text, sorted, to hand to another process.
func (k *Keys) Identities() []string {
	if k == nil {
		return nil
	}
	return slices.Clone(k.text)
}

// Digest identifies the set of identities (a SHA-256 over them), so a render cached with
// one set is not served to another. It is not a secret but is never shown either.
func (k *Keys) Digest() string {
	if k.Empty() {
		return ""
	}
	s := sha256.Sum256([]byte(strings.Join(k.text, "\n")))
	return hex.EncodeToString(s[:])
}

// AgeIdentities returns the parsed identities, for an Opener.
func (k *Keys) AgeIdentities() []age.Identity {
	if k == nil {
		return nil
	}
	return slices.Clone(k.ids)
}

// Recipients returns the public keys of the identities, sorted.
func (k *Keys) Recipients() []string {
	var out []string
	for _, r := range k.recipients() {
		out = append(out, fmt.Sprint(r))
	}
	sort.Strings(out)
	return out
}

func (k *Keys) recipients() []age.Recipient {
	if k == nil {
		return nil
	}
	var out []age.Recipient
	for _, id := range k.ids {
		switch id := id.(type) {
		case *age.X25519Identity:
			out = append(out, id.Recipient())
		case *age.HybridIdentity:
			out = append(out, id.Recipient())
		}
	}
	return out
}

// An Opener reads one file as Keys.File does: in clear with its clear values when it is
// SOPS-encrypted, as it is otherwise. Its errors wrap the sentinels above.
type Opener func(k *Keys, name string, data []byte) (clear []byte, values []string, decrypted bool, err error)

var opener atomic.Pointer[Opener]

// RegisterOpener makes o the Opener of Keys.File. Package sopsfile calls it when imported.
func RegisterOpener(o Opener) { opener.Store(&o) }

// Marker is in every SOPS-encrypted file: the MAC, at least, is encrypted this way.
var Marker = []byte("ENC[AES256_GCM,")

// File returns the file in clear when it is SOPS-encrypted, with the clear values it held
// (so callers can keep them out of messages); any other file comes back as it is, with
// decrypted false. Without a registered Opener, a file that holds SOPS metadata is refused
// (ErrMalformed), never passed on encrypted.
func (k *Keys) File(name string, data []byte) (clear []byte, values []string, decrypted bool, err error) {
	if o := opener.Load(); o != nil {
		return (*o)(k, name, data)
	}
	if bytes.Contains(data, Marker) && NamesSOPS(name, data) {
		return nil, nil, true, fmt.Errorf("%s: %w: this program reads no SOPS files (package sopsfile is not linked)", name, ErrMalformed)
	}
	return data, nil, false, nil
}

// NamesSOPS reports whether data holds the sops metadata key as the format of name (by its
// extension, as sops chooses) writes it.
func NamesSOPS(name string, data []byte) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml":
		return bytes.HasPrefix(data, []byte("sops:")) || bytes.Contains(data, []byte("\nsops:"))
	case ".env":
		return bytes.Contains(data, []byte("sops_mac="))
	case ".ini":
		return bytes.Contains(data, []byte("[sops]"))
	default:
		return bytes.Contains(data, []byte(`"sops"`))
	}
}
