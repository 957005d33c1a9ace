package decrypt

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"filippo.io/age"
)

func newKey(t testing.TB) (*Keys, string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	k, err := Parse(id.String())
	if err != nil {
		t.Fatal(err)
	}
	return k, id.Recipient().String()
}

func mustGenerate(t *testing.T) string {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return "# created: now\n" + id.String() + "\n"
}

func TestParseSecret(t *testing.T) {
	a, b := mustGenerate(t), mustGenerate(t)
	k, err := ParseSecret(map[string][]byte{"a.agekey": []byte(a), "b.agekey": []byte(b), "README": []byte("not a key")})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(k.Identities()); n != 2 {
		t.Fatalf("%d identities, want 2", n)
	}
}

func TestSealOpen(t *testing.T) {
	k, _ := newKey(t)
	other, _ := newKey(t)
	sealed, err := k.Seal([]byte("objects with password correct-horse"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("correct-horse")) {
		t.Fatal("sealed data holds the clear text")
	}
	got, err := k.Open(sealed, 1<<20)
	if err != nil || string(got) != "objects with password correct-horse" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := other.Open(sealed, 1<<20); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("another key opened it: %v", err)
	}
	if _, err := k.Open(sealed, 4); err == nil {
		t.Fatal("Open read past its limit")
	}
}

func TestRedact(t *testing.T) {
	got := Redact("password correct-horse, token c2VjcmV0LXRva2Vu (secret-token), port 80",
		[]string{"correct-horse", "c2VjcmV0LXRva2Vu", "80"})
	want := "password <redacted>, token <redacted> (<redacted>), port 80"
	if got != want {
		t.Fatalf("Redact = %q, want %q", got, want)
	}
}

// TestFileWithoutOpener: a program that links no SOPS reader (this test's) refuses a
// SOPS-encrypted file rather than pass it on encrypted, and passes every other file, one that
// merely quotes the marker included.
func TestFileWithoutOpener(t *testing.T) {
	k, _ := newKey(t)
	enc := "data:\n  password: ENC[AES256_GCM,data:c2VjcmV0,iv:aXY=,tag:dGFn,type:str]\nsops:\n  mac: ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]\n"
	out, _, decrypted, err := k.File("secret.enc.yaml", []byte(enc))
	if !errors.Is(err, ErrMalformed) || !decrypted || out != nil || !strings.Contains(err.Error(), "secret.enc.yaml: ") {
		t.Fatalf("File = %q, %v, %v; want the file refused, named", out, decrypted, err)
	}
	for name, plain := range map[string]string{
		"cm.yaml":               "apiVersion: v1\nkind: ConfigMap\n",
		"templates/secret.yaml": "# sealed with ENC[AES256_GCM,...] elsewhere\nkind: Secret\n",
		"values.json":           `{"note": "ENC[AES256_GCM, is how sops marks values"}`,
	} {
		out, values, decrypted, err := k.File(name, []byte(plain))
		if err != nil || decrypted || values != nil || !bytes.Equal(out, []byte(plain)) {
			t.Errorf("%s: File = %q, %v, %v, %v; want it as it is", name, out, values, decrypted, err)
		}
	}
}
