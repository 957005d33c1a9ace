package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/landfall-dev/landfall/render/decrypt"
	"github.com/landfall-dev/landfall/render/decrypt/sopsfile"
)

// A developer checks a change to SOPS-encrypted files: without a key the render fails
// naming the file; with --age-key-file it renders, Secret values and every decrypted value
// masked unless --show-secrets.
func TestRenderSOPS(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	keyFile := filepath.Join(t.TempDir(), "keys.txt")
	write := func(path string, data []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(keyFile, []byte(id.String()+"\n"))
	const password, apiKey = "correct-horse-battery", "api-key-in-a-configmap"
	secret, err := sopsfile.Encrypt("secret.enc.yaml", []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: "+password+"\n"),
		[]string{id.Recipient().String()}, sopsfile.EncryptOptions{EncryptedRegex: "^(data|stringData)$"})
	if err != nil {
		t.Fatal(err)
	}
	cm, err := sopsfile.Encrypt("cm.enc.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  key: "+apiKey+"\n"),
		[]string{id.Recipient().String()}, sopsfile.EncryptOptions{EncryptedRegex: "^data$"})
	if err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(root, "app/secret.enc.yaml"), secret)
	write(filepath.Join(root, "app/cm.enc.yaml"), cm)
	t.Chdir(root)

	_, _, err = execRender(t, "app", "-n", "shop")
	if !errors.Is(err, decrypt.ErrNoKeys) || !strings.Contains(err.Error(), ".enc.yaml: the file is SOPS-encrypted") {
		t.Fatalf("without a key: err = %v", err)
	}
	out, _, err := execRender(t, "app", "-n", "shop", "--age-key-file", keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, password) || strings.Contains(out, apiKey) || !strings.Contains(out, "password: '***'") {
		t.Fatalf("values not masked:\n%s", out)
	}
	out, _, err = execRender(t, "app", "-n", "shop", "--age-key-file", keyFile, "--show-secrets")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, password) || !strings.Contains(out, apiKey) || strings.Contains(out, "sops:") {
		t.Fatalf("--show-secrets does not show the clear values:\n%s", out)
	}
}
