// Package sopsfile reads and writes SOPS-encrypted files with age keys, in memory, with the
// sops library. Imported, it registers itself as the Opener of package decrypt; the
// landfall program imports it, the engines do not (see package decrypt for why).
package sopsfile

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keys"
	"github.com/getsops/sops/v3/logging"
	"github.com/getsops/sops/v3/stores/dotenv"
	"github.com/getsops/sops/v3/stores/ini"
	"github.com/getsops/sops/v3/stores/json"
	"github.com/getsops/sops/v3/stores/yaml"
	"github.com/sirupsen/logrus"

	"github.com/landfall-dev/landfall/render/decrypt"
)

// sopsVersion is written into files Encrypt makes; sops refuses metadata without one.
const sopsVersion = "3.13.3"

func init() {
	// sops logs through logrus at Info ("Decryption succeeded") and, for comments it cannot
	// decrypt, at Warn with the comment; the caller reports what matters itself.
	logging.SetLevel(logrus.ErrorLevel)
	decrypt.RegisterOpener(File)
}

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
	if !bytes.Contains(data, decrypt.Marker) {
		return sops.Tree{}, false, nil
	}
	tree, err := storeFor(name).LoadEncryptedFile(data)
	if errors.Is(err, sops.MetadataNotFound) {
		return sops.Tree{}, false, nil
	}
	if err != nil {
		// Some file that happens to hold the marker and is not of its extension's format
		// (a Helm template, say) is the renderer's business; one that names sops is ours.
		if !decrypt.NamesSOPS(name, data) {
			return sops.Tree{}, false, nil
		}
		return sops.Tree{}, true, fmt.Errorf("%s: %w", name, decrypt.ErrMalformed)
	}
	tree.FilePath = name
	return tree, true, nil
}

// IsEncrypted reports whether the file (named for its format, as sops does) carries SOPS
// metadata.
func IsEncrypted(name string, data []byte) bool {
	_, ok, err := load(name, data)
	return ok || err != nil
}

// File returns the file in clear when it is SOPS-encrypted, with the clear values it held
// (so callers can keep them out of messages); any other file comes back as it is, with
// decrypted false. It is the decrypt.Opener of Keys.File.
func File(k *decrypt.Keys, name string, data []byte) (clear []byte, values []string, decrypted bool, err error) {
	tree, ok, err := load(name, data)
	if err != nil || !ok {
		return data, nil, false, err
	}
	if k.Empty() {
		return nil, nil, true, fmt.Errorf("%s: %w", name, decrypt.ErrNoKeys)
	}
	key, err := dataKey(k, name, tree.Metadata)
	if err != nil {
		return nil, nil, true, err
	}
	cipher := aes.NewCipher()
	encrypted := encryptedLeaves(tree.Branches)
	mac, err := tree.Decrypt(key, cipher)
	if err != nil {
		return nil, nil, true, fmt.Errorf("%s: a value does not decrypt: %w", name, decrypt.ErrTampered)
	}
	stored, err := cipher.Decrypt(tree.Metadata.MessageAuthenticationCode, key, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil || stored != mac {
		return nil, nil, true, fmt.Errorf("%s: %w", name, decrypt.ErrTampered)
	}
	out, err := storeFor(name).EmitPlainFile(tree.Branches)
	if err != nil {
		return nil, nil, true, fmt.Errorf("%s: writing the clear form: %w", name, decrypt.ErrMalformed)
	}
	return out, clearValues(tree.Branches, encrypted), true, nil
}

// dataKey opens the file's data key with one of the age identities. Files split over
// several key groups (Shamir) are refused: each group would need its own key service.
func dataKey(k *decrypt.Keys, name string, md sops.Metadata) ([]byte, error) {
	if len(md.KeyGroups) != 1 {
		return nil, fmt.Errorf("%s: %d key groups: only files with one key group can be decrypted: %w", name, len(md.KeyGroups), decrypt.ErrMalformed)
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
		sopsage.ParsedIdentities(k.AgeIdentities()).ApplyToMasterKey(&c)
		if key, err := c.Decrypt(); err == nil {
			return key, nil
		}
	}
	if len(recipients) == 0 {
		return nil, fmt.Errorf("%s: encrypted for no age key (only age is supported): %w", name, decrypt.ErrWrongKey)
	}
	return nil, fmt.Errorf("%s: encrypted for %s: %w", name, strings.Join(recipients, ", "), decrypt.ErrWrongKey)
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
	var values []string
	i := 0
	walkLeaves(branches, func(v any) {
		if i < len(encrypted) && encrypted[i] {
			if _, comment := v.(sops.Comment); !comment && v != nil {
				values = append(values, fmt.Sprint(v))
			}
		}
		i++
	})
	return decrypt.Sensitive(values)
}

// EncryptOptions choose what Encrypt encrypts, as the keys of a .sops.yaml creation rule.
type EncryptOptions struct {
	// EncryptedRegex encrypts only the values of keys it matches ("^(data|stringData)$" for
	// Kubernetes Secrets); empty encrypts every value.
	EncryptedRegex string
}

// Encrypt encrypts a file for age recipients as `sops --encrypt` does, its format chosen
// by name. The tests and the demo make their encrypted files with it; users have the sops
// command.
func Encrypt(name string, clear []byte, recipients []string, opt EncryptOptions) ([]byte, error) {
	store := storeFor(name)
	branches, err := store.LoadPlainFile(clear)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	mks, err := sopsage.MasterKeysFromRecipients(strings.Join(recipients, ","))
	if err != nil {
		return nil, fmt.Errorf("%w: recipients: %w", decrypt.ErrKeys, err)
	}
	group := make(sops.KeyGroup, len(mks))
	for i, mk := range mks {
		group[i] = keys.MasterKey(mk)
	}
	tree := sops.Tree{Branches: branches, FilePath: name, Metadata: sops.Metadata{
		KeyGroups: []sops.KeyGroup{group}, EncryptedRegex: opt.EncryptedRegex, Version: sopsVersion,
	}}
	dataKey, errs := tree.GenerateDataKey()
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: data key: %w", name, errors.Join(errs...))
	}
	cipher := aes.NewCipher()
	tree.Metadata.LastModified = time.Now().UTC()
	mac, err := tree.Encrypt(dataKey, cipher)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	tree.Metadata.MessageAuthenticationCode, err = cipher.Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return store.EmitEncryptedFile(tree)
}
