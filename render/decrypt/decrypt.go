// Package decrypt opens SOPS-encrypted files with age keys, in memory. A render reads
// every file of the checkout through it: a file that carries SOPS metadata comes back in
// clear, its MAC verified, and nothing in clear is ever written anywhere. Errors name the
// file and why, never a value: the MAC sops computes is a hash of the clear values, and a
// hash of a short password can be searched, so sops's own messages are not passed on.
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
	"time"

	"filippo.io/age"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/logging"
	"github.com/getsops/sops/v3/stores/dotenv"
	"github.com/getsops/sops/v3/stores/ini"
	"github.com/getsops/sops/v3/stores/json"
	"github.com/getsops/sops/v3/stores/yaml"
	"github.com/sirupsen/logrus"
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

// sopsVersion is written into files Encrypt makes; sops refuses metadata without one.
const sopsVersion = "3.13.3"

func init() {
	// sops logs through logrus at Info ("Decryption succeeded") and, for comments it cannot
	// decrypt, at Warn with the comment; the caller reports what matters itself.
	logging.SetLevel(logrus.ErrorLevel)
}

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

// marker is in every SOPS-encrypted file: the MAC, at least, is encrypted this way.
var marker = []byte("ENC[AES256_GCM,")

// storeFor picks the sops store by the file's extension, as the sops command does.
func storeFor(name string) sops.Store {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml":
		return yaml.NewStore(&config.YAMLStoreConfig{Indent: 2})
	case ".json":
		return json.NewStore(&config.JSONStoreConfig{Indent: 2})
	case ".env":
		return dotenv.NewStore(&config.DotenvStoreConfig{})
	case ".ini":
		return ini.NewStore(&config.INIStoreConfig{})
	default:
		return json.NewBinaryStore(&config.JSONBinaryStoreConfig{Indent: 2})
	}
}

// load reads the file's sops tree; ok is false when the file is not SOPS-encrypted.
func load(name string, data []byte) (sops.Tree, bool, error) {
	if !bytes.Contains(data, marker) {
		return sops.Tree{}, false, nil
	}
	tree, err := storeFor(name).LoadEncryptedFile(data)
	if errors.Is(err, sops.MetadataNotFound) {
		return sops.Tree{}, false, nil
	}
	if err != nil {
		// Some file that happens to hold the marker and is not of its extension's format
		// (a Helm template, say) is the renderer's business; one that names sops is ours.
		if !namesSops(name, data) {
			return sops.Tree{}, false, nil
		}
		return sops.Tree{}, true, fmt.Errorf("%s: %w", name, ErrMalformed)
	}
	tree.FilePath = name
	return tree, true, nil
}

// namesSops reports whether data holds the sops metadata key as its format writes it.
func namesSops(name string, data []byte) bool {
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

// IsEncrypted reports whether the file (named for its format, as sops does) carries SOPS
// metadata.
func IsEncrypted(name string, data []byte) bool {
	_, ok, err := load(name, data)
	return ok || err != nil
}

// File returns the file in clear when it is SOPS-encrypted, with the clear values it held
// (so callers can keep them out of messages); any other file comes back as it is, with
// decrypted false.
func (k *Keys) File(name string, data []byte) (clear []byte, values []string, decrypted bool, err error) {
	tree, ok, err := load(name, data)
	if err != nil || !ok {
		return data, nil, false, err
	}
	if k.Empty() {
		return nil, nil, true, fmt.Errorf("%s: %w", name, ErrNoKeys)
	}
	key, err := k.dataKey(name, tree.Metadata)
	if err != nil {
		return nil, nil, true, err
	}
	cipher := aes.NewCipher()
	encrypted := encryptedLeaves(tree.Branches)
	mac, err := tree.Decrypt(key, cipher)
	if err != nil {
		return nil, nil, true, fmt.Errorf("%s: a value does not decrypt: %w", name, ErrTampered)
	}
	stored, err := cipher.Decrypt(tree.Metadata.MessageAuthenticationCode, key, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil || stored != mac {
		return nil, nil, true, fmt.Errorf("%s: %w", name, ErrTampered)
	}
	out, err := storeFor(name).EmitPlainFile(tree.Branches)
	if err != nil {
		return nil, nil, true, fmt.Errorf("%s: writing the clear form: %w", name, ErrMalformed)
	}
	return out, clearValues(tree.Branches, encrypted), true, nil
}

// dataKey opens the file's data key with one of the age identities. Files split over
// several key groups (Shamir) are refused: each group would need its own key service.
func (k *Keys) dataKey(name string, md sops.Metadata) ([]byte, error) {
	if len(md.KeyGroups) != 1 {
		return nil, fmt.Errorf("%s: %d key groups: only files with one key group can be decrypted: %w", name, len(md.KeyGroups), ErrMalformed)
	}
	var recipients []string
	for _, mk := range md.KeyGroups[0] {
		ak, ok := mk.(*sopsage.MasterKey)
		if !ok {
			continue
		}
		recipients = append(recipients, ak.Recipient)
		// A copy, so the parsed identities are never left on the shared tree.
		c := *ak
		sopsage.ParsedIdentities(k.ids).ApplyToMasterKey(&c)
		if key, err := c.Decrypt(); err == nil {
			return key, nil
		}
	}
	if len(recipients) == 0 {
		return nil, fmt.Errorf("%s: encrypted for no age key (only age is supported): %w", name, ErrWrongKey)
	}
	return nil, fmt.Errorf("%s: encrypted for %s: %w", name, strings.Join(recipients, ", "), ErrWrongKey)
}

// walkLeaves calls fn with every leaf of the tree, in order; comments are leaves too.
func walkLeaves(branches sops.TreeBranches, fn func(v any)) {
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case sops.TreeBranch:
			for _, item := range v {
				walk(item.Value)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		default:
			fn(v)
		}
	}
	for _, b := range branches {
		walk(b)
	}
}

// encryptedLeaves marks, in walk order, the leaves that are encrypted values.
func encryptedLeaves(branches sops.TreeBranches) []bool {
	var out []bool
	walkLeaves(branches, func(v any) {
		s, ok := v.(string)
		out = append(out, ok && strings.HasPrefix(s, "ENC["))
	})
	return out
}

// clearValues lists the values that were encrypted, in clear, and the decoded form of those
// that are base64 (a Secret's data), longest first, so a caller replacing them in a message
// replaces whole values. Values in clear in the file (with encrypted_regex) are not secret.
func clearValues(branches sops.TreeBranches, encrypted []bool) []string {
	seen := map[string]bool{}
	i := 0
	walkLeaves(branches, func(v any) {
		if i < len(encrypted) && encrypted[i] {
			if _, comment := v.(sops.Comment); !comment && v != nil {
				addValue(seen, fmt.Sprint(v))
			}
		}
		i++
	})
	return sortedValues(seen)
}
