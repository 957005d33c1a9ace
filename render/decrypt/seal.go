package decrypt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/keys"
)

// Seal encrypts data with age to the recipients of k's identities, for what must be kept at
// rest and was made from decrypted files (the last healthy revision's objects).
func (k *Keys) Seal(data []byte) ([]byte, error) {
	rs := k.recipients()
	if len(rs) == 0 {
		return nil, fmt.Errorf("seal: %w", ErrNoKeys)
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, rs...)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return buf.Bytes(), nil
}

// Open decrypts what Seal made, reading at most limit bytes of clear data. Sealed data no
// identity of k opens is ErrWrongKey.
func (k *Keys) Open(sealed []byte, limit int64) ([]byte, error) {
	if k.Empty() {
		return nil, fmt.Errorf("open: %w", ErrNoKeys)
	}
	r, err := age.Decrypt(bytes.NewReader(sealed), k.ids...)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			return nil, fmt.Errorf("open: %w", ErrWrongKey)
		}
		return nil, fmt.Errorf("open: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("open: more than %d bytes in clear", limit)
	}
	return data, nil
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
		return nil, fmt.Errorf("%w: recipients: %w", ErrKeys, err)
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
