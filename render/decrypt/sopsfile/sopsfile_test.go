package sopsfile

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"filippo.io/age"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/landfall-dev/landfall/render/decrypt"
)

const secretYAML = `apiVersion: v1
kind: Secret
metadata:
  name: db
type: Opaque
stringData:
  password: correct-horse-battery-staple
data:
  token: c2VjcmV0LXRva2VuLTEyMw==
`

func newKey(t testing.TB) (*decrypt.Keys, string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	k, err := decrypt.Parse(id.String())
	if err != nil {
		t.Fatal(err)
	}
	return k, id.Recipient().String()
}

func encrypt(t testing.TB, name, clear string, opt EncryptOptions, recipients ...string) []byte {
	t.Helper()
	enc, err := Encrypt(name, []byte(clear), recipients, opt)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

func TestDecryptFormats(t *testing.T) {
	k, r := newKey(t)
	cases := []struct {
		name, clear string
		opt         EncryptOptions
		secret      string
	}{
		{"secret.yaml", secretYAML, EncryptOptions{}, "correct-horse-battery-staple"},
		{"secret.yaml", secretYAML, EncryptOptions{EncryptedRegex: "^(data|stringData)$"}, "correct-horse-battery-staple"},
		{"values.json", `{"db": {"password": "hunter2-hunter2"}, "replicas": 3}`, EncryptOptions{}, "hunter2-hunter2"},
		{"db.env", "PASSWORD=s3cr3t-env-value\nUSER=shop\n", EncryptOptions{}, "s3cr3t-env-value"},
		{"tls.key", "-----BEGIN KEY-----\nbinary-looking-secret\n", EncryptOptions{}, "binary-looking-secret"},
	}
	for _, c := range cases {
		t.Run(c.name+c.opt.EncryptedRegex, func(t *testing.T) {
			enc := encrypt(t, c.name, c.clear, c.opt, r)
			if bytes.Contains(enc, []byte(c.secret)) {
				t.Fatalf("the encrypted file holds the clear value:\n%s", enc)
			}
			if !IsEncrypted(c.name, enc) {
				t.Fatal("IsEncrypted = false for an encrypted file")
			}
			out, values, decrypted, err := k.File(c.name, enc)
			if err != nil || !decrypted {
				t.Fatalf("File: decrypted=%v err=%v", decrypted, err)
			}
			if !bytes.Contains(out, []byte(c.secret)) || bytes.Contains(out, []byte("sops")) {
				t.Fatalf("clear form lacks the value or keeps the metadata:\n%s", out)
			}
			if !strings.Contains(decrypt.Redact("it is "+c.secret, values), decrypt.Masked) {
				t.Fatalf("values %q do not cover %q", values, c.secret)
			}
		})
	}
}

func TestDecryptedYAMLIsTheSameObject(t *testing.T) {
	k, r := newKey(t)
	enc := encrypt(t, "s.yaml", secretYAML, EncryptOptions{EncryptedRegex: "^(data|stringData)$"}, r)
	if !bytes.Contains(enc, []byte("name: db")) {
		t.Fatalf("with encrypted_regex the metadata stays in clear:\n%s", enc)
	}
	out, values, _, err := k.File("s.yaml", enc)
	if err != nil {
		t.Fatal(err)
	}
	var want, got map[string]any
	if err := sigsyaml.Unmarshal([]byte(secretYAML), &want); err != nil {
		t.Fatal(err)
	}
	if err := sigsyaml.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("decrypted %v, want %v", got, want)
	}
	// Only what was encrypted is secret: the kind and name stay readable in messages.
	for _, v := range values {
		if v == "Secret" || v == "Opaque" {
			t.Fatalf("a clear value is listed as secret: %q", values)
		}
	}
	if !strings.Contains(strings.Join(values, "\n"), "secret-token-123") {
		t.Fatalf("the base64 data's decoded form is not listed: %q", values)
	}
}

func TestMultiDocumentYAML(t *testing.T) {
	k, r := newKey(t)
	clear := "a: first-secret-value\n---\nb: second-secret-value\n"
	out, _, _, err := k.File("two.yaml", encrypt(t, "two.yaml", clear, EncryptOptions{}, r))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte("first-secret-value")) || !bytes.Contains(out, []byte("second-secret-value")) {
		t.Fatalf("a document is lost:\n%s", out)
	}
}

func TestPlainFilesPassThrough(t *testing.T) {
	k, _ := newKey(t)
	for name, data := range map[string]string{
		"cm.yaml":              "kind: ConfigMap\ndata: {a: b}\n",
		"templates/x.yaml":     "{{ .Values.x }}: ENC[AES256_GCM,not-really]\n",
		"notes.txt":            "mentions ENC[AES256_GCM, and sops in prose, not JSON",
		"kustomization.yaml":   "resources: [a.yaml]\n",
		"values-with-enc.yaml": "note: ENC[AES256_GCM,data:x]\n",
	} {
		var nilKeys *decrypt.Keys
		for _, keys := range []*decrypt.Keys{k, nilKeys} {
			out, _, decrypted, err := keys.File(name, []byte(data))
			if name == "notes.txt" && err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err != nil || decrypted || string(out) != data {
				t.Fatalf("%s: decrypted=%v err=%v out=%q", name, decrypted, err, out)
			}
		}
	}
}

func TestRefusals(t *testing.T) {
	k, r := newKey(t)
	other, otherR := newKey(t)
	enc := encrypt(t, "secret.yaml", secretYAML, EncryptOptions{EncryptedRegex: "^(data|stringData)$"}, r)

	t.Run("no keys", func(t *testing.T) {
		var none *decrypt.Keys
		_, _, _, err := none.File("secret.yaml", enc)
		wantRefusal(t, err, decrypt.ErrNoKeys, "secret.yaml")
	})
	t.Run("another key", func(t *testing.T) {
		_, _, _, err := other.File("secret.yaml", enc)
		wantRefusal(t, err, decrypt.ErrWrongKey, "secret.yaml")
		if !strings.Contains(err.Error(), r) || strings.Contains(err.Error(), otherR) {
			t.Fatalf("the message should name the file's recipient only: %v", err)
		}
	})
	t.Run("value changed", func(t *testing.T) {
		// Swap two encrypted values: each decrypts with its own path as additional data,
		// so moving one is caught even though both are valid ciphertexts.
		tampered := swapValues(t, enc)
		_, _, _, err := k.File("secret.yaml", tampered)
		wantRefusal(t, err, decrypt.ErrTampered, "secret.yaml")
	})
	t.Run("clear value changed", func(t *testing.T) {
		// With encrypted_regex the name is in clear, and the MAC covers it.
		tampered := bytes.Replace(enc, []byte("name: db"), []byte("name: dc"), 1)
		_, _, _, err := k.File("secret.yaml", tampered)
		wantRefusal(t, err, decrypt.ErrTampered, "secret.yaml")
	})
	t.Run("metadata broken", func(t *testing.T) {
		broken := bytes.Replace(enc, []byte("sops:"), []byte("sops: [\n"), 1)
		_, _, _, err := k.File("secret.yaml", broken)
		wantRefusal(t, err, decrypt.ErrMalformed, "secret.yaml")
	})
	t.Run("keys that are not keys", func(t *testing.T) {
		_, err := decrypt.Parse("AGE-SECRET-KEY-1NOTAKEY")
		if !errors.Is(err, decrypt.ErrKeys) || strings.Contains(err.Error(), "NOTAKEY") {
			t.Fatalf("err = %v", err)
		}
		if _, err := decrypt.ParseSecret(map[string][]byte{"key.txt": []byte("x")}); !errors.Is(err, decrypt.ErrKeys) {
			t.Fatalf("a Secret without .agekey keys: err = %v", err)
		}
	})
}

func wantRefusal(t *testing.T, err, want error, file string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	msg := err.Error()
	if !strings.Contains(msg, file) {
		t.Fatalf("the message does not name the file: %s", msg)
	}
	for _, clear := range []string{"correct-horse", "secret-token", "c2VjcmV0"} {
		if strings.Contains(msg, clear) {
			t.Fatalf("the message quotes a value: %s", msg)
		}
	}
}

// swapValues exchanges the first two encrypted values of a file.
func swapValues(t *testing.T, enc []byte) []byte {
	t.Helper()
	lines := strings.Split(string(enc), "\n")
	var idx []int
	for i, l := range lines {
		if strings.Contains(l, ": ENC[") && !strings.Contains(l, "mac:") {
			idx = append(idx, i)
		}
	}
	if len(idx) < 2 {
		t.Fatalf("fewer than two encrypted values:\n%s", enc)
	}
	a, b := lines[idx[0]], lines[idx[1]]
	ka, va, _ := strings.Cut(a, ": ")
	kb, vb, _ := strings.Cut(b, ": ")
	lines[idx[0]], lines[idx[1]] = ka+": "+vb, kb+": "+va
	return []byte(strings.Join(lines, "\n"))
}

func TestRotation(t *testing.T) {
	oldK, oldR := newKey(t)
	newText := mustGenerate(t)
	newK, err := decrypt.Parse(newText)
	if err != nil {
		t.Fatal(err)
	}
	newR := newK.Recipients()[0]
	both, err := decrypt.Parse(oldK.Identities()[0], newText)
	if err != nil {
		t.Fatal(err)
	}
	oldFile := encrypt(t, "s.yaml", secretYAML, EncryptOptions{}, oldR)
	newFile := encrypt(t, "s.yaml", secretYAML, EncryptOptions{}, newR)
	// During a rotation the Secret holds both keys and opens files of either.
	for _, f := range [][]byte{oldFile, newFile} {
		if _, _, _, err := both.File("s.yaml", f); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, _, err := newK.File("s.yaml", oldFile); !errors.Is(err, decrypt.ErrWrongKey) {
		t.Fatalf("the new key alone opened an old file: %v", err)
	}
	if both.Digest() == newK.Digest() || both.Digest() == "" {
		t.Fatal("digests of different key sets are equal")
	}
}

func mustGenerate(t *testing.T) string {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return "# created: now\n" + id.String() + "\n"
}
