package decrypt

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
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
