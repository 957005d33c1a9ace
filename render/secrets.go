package render

import (
	"errors"
	"slices"
	"sync"

	"github.com/landfall-dev/landfall/render/decrypt"
)

// decryptor opens the SOPS-encrypted files a render reads, in memory, and remembers which
// files it opened and their clear values, so errors can be cleaned of them. The clear form
// lives only in the render's memory and its answer; nothing is written.
type decryptor struct {
	keys *decrypt.Keys

	mu     sync.Mutex
	files  []string
	values []string
}

func (d *decryptor) open(rel string, data []byte) ([]byte, error) {
	out, values, decrypted, err := d.keys.File(rel, data)
	if !decrypted {
		return out, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !slices.Contains(d.files, rel) {
		d.files = append(d.files, rel)
	}
	d.values = append(d.values, values...)
	return out, err
}

func (d *decryptor) result() (files, values []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	files = slices.Clone(d.files)
	slices.Sort(files)
	return files, slices.Clone(d.values)
}

// redact returns err with the values masked in its message. It matches the sentinels err
// matched but does not unwrap: unwrapping would lead back to the clear message.
func redact(err error, values []string) error {
	if err == nil || len(values) == 0 {
		return err
	}
	msg := decrypt.Redact(err.Error(), values)
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string        { return e.msg }
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }

// decryptionSentinels are the errors of package decrypt a render passes on.
var decryptionSentinels = []error{decrypt.ErrNoKeys, decrypt.ErrWrongKey, decrypt.ErrTampered, decrypt.ErrMalformed}

// IsDecryption reports whether err is an error of opening a SOPS-encrypted file.
func IsDecryption(err error) bool {
	return slices.ContainsFunc(decryptionSentinels, func(s error) bool { return errors.Is(err, s) })
}
