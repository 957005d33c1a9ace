//go:build !race

// SOPS under the race detector would instrument the clients of every cloud key service the
// sops library links: these run without it (see controllers/application_sops_test.go).

package render

import (
	"context"
	"encoding/base64"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/landfall-dev/landfall/render/decrypt"
	"github.com/landfall-dev/landfall/render/decrypt/sopsfile"
)

func ageKey(t testing.TB) (*decrypt.Keys, string) {
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

func writeEncrypted(t *testing.T, path, clear, recipient, regex string) {
	t.Helper()
	enc, err := sopsfile.Encrypt(path, []byte(clear), []string{recipient}, sopsfile.EncryptOptions{EncryptedRegex: regex})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(enc), dbPassword) {
		t.Fatal("the encrypted file holds the clear text")
	}
	write(t, path, string(enc))
}

const secretManifest = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: " + dbPassword + "\n"

// sopsCheckout writes an application in each renderer's form, each holding dbPassword
// only SOPS-encrypted.
func sopsCheckout(t *testing.T, recipient string) string {
	root := t.TempDir()
	// Plain manifests: an encrypted Secret next to a ConfigMap.
	writeEncrypted(t, filepath.Join(root, "plain/secret.enc.yaml"), secretManifest, recipient, "^(data|stringData)$")
	write(t, filepath.Join(root, "plain/cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n")
	// Kustomize: an encrypted resource and encrypted generator sources (env and file).
	write(t, filepath.Join(root, "kust/kustomization.yaml"), `resources: [secret.yaml]
secretGenerator:
- name: gen
  envs: [db.env]
  files: [tls.key]
generatorOptions: {disableNameSuffixHash: true}
`)
	writeEncrypted(t, filepath.Join(root, "kust/secret.yaml"), secretManifest, recipient, "")
	writeEncrypted(t, filepath.Join(root, "kust/db.env"), "PASSWORD="+dbPassword+"\n", recipient, "")
	writeEncrypted(t, filepath.Join(root, "kust/tls.key"), "key "+dbPassword+"\n", recipient, "")
	// Helm: an encrypted values file.
	write(t, filepath.Join(root, "chart/Chart.yaml"), "apiVersion: v2\nname: shop\nversion: 0.1.0\n")
	write(t, filepath.Join(root, "chart/templates/secret.yaml"),
		"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: {{ .Values.db.password | quote }}\n")
	writeEncrypted(t, filepath.Join(root, "chart/values-secret.yaml"), "db:\n  password: "+dbPassword+"\n", recipient, "")
	return root
}

func TestSOPSDecryptedInMemory(t *testing.T) {
	keys, recipient := ageKey(t)
	root := sopsCheckout(t, recipient)
	cases := []struct {
		path, values string
		decrypted    []string
		check        func(objs []*unstructured.Unstructured) bool
	}{
		{"plain", "", []string{"plain/secret.enc.yaml"}, func(objs []*unstructured.Unstructured) bool {
			return stringData(objs, "db") == dbPassword
		}},
		{"kust", "", []string{"kust/db.env", "kust/secret.yaml", "kust/tls.key"}, func(objs []*unstructured.Unstructured) bool {
			data, _, _ := unstructured.NestedStringMap(find(objs, "gen").Object, "data")
			pw, _ := base64.StdEncoding.DecodeString(data["PASSWORD"])
			key, _ := base64.StdEncoding.DecodeString(data["tls.key"])
			return stringData(objs, "db") == dbPassword && string(pw) == dbPassword && string(key) == "key "+dbPassword+"\n"
		}},
		{"chart", "values-secret.yaml", []string{"chart/values-secret.yaml"}, func(objs []*unstructured.Unstructured) bool {
			return stringData(objs, "db") == dbPassword
		}},
	}
	for name, e := range engines(t) {
		for _, c := range cases {
			t.Run(name+"/"+c.path, func(t *testing.T) {
				in := Input{Root: root, Path: c.path, Namespace: "shop", Revision: "r1", Decryption: keys}
				if c.values != "" {
					in.ValuesFiles = []string{c.values}
				}
				res, err := e.Render(context.Background(), in)
				if err != nil {
					t.Fatal(err)
				}
				if !c.check(res.Objects) {
					t.Fatalf("the clear values are not in the objects: %v", res.Objects)
				}
				if !slices.Equal(res.Decrypted, c.decrypted) {
					t.Fatalf("Decrypted = %q, want %q", res.Decrypted, c.decrypted)
				}
				if !slices.Contains(res.Sensitive, dbPassword) {
					t.Fatalf("Sensitive lacks the password: %d values", len(res.Sensitive))
				}
				for _, o := range res.Objects {
					if _, ok := o.Object["sops"]; ok {
						t.Fatalf("%s keeps the sops metadata", o.GetName())
					}
				}
			})
		}
	}
}

func stringData(objs []*unstructured.Unstructured, name string) string {
	o := find(objs, name)
	if o == nil {
		return ""
	}
	v, _, _ := unstructured.NestedString(o.Object, "stringData", "password")
	return v
}

func TestSOPSRefusals(t *testing.T) {
	keys, recipient := ageKey(t)
	other, _ := ageKey(t)
	root := sopsCheckout(t, recipient)
	for name, e := range engines(t) {
		for _, c := range []struct {
			name string
			keys *decrypt.Keys
			want error
		}{{"no keys", nil, decrypt.ErrNoKeys}, {"another key", other, decrypt.ErrWrongKey}} {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				_, err := e.Render(context.Background(), Input{Root: root, Path: "plain", Namespace: "shop", Revision: "r1", Decryption: c.keys})
				if !IsDecryption(err) || !errors.Is(err, c.want) {
					t.Fatalf("err = %v, want %v", err, c.want)
				}
				if !strings.Contains(err.Error(), "plain/secret.enc.yaml") || strings.Contains(err.Error(), dbPassword) {
					t.Fatalf("the message must name the file and no value: %v", err)
				}
			})
		}
		t.Run(name+"/cache keyed by the keys", func(t *testing.T) {
			in := Input{Root: root, Path: "plain", Namespace: "shop", Revision: "r2", Decryption: keys}
			if _, err := e.Render(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			in.Decryption = other
			if _, err := e.Render(context.Background(), in); !IsDecryption(err) {
				t.Fatalf("a render made with one key was served to another: err = %v", err)
			}
		})
	}
}

// An error that quotes a decrypted value (Helm names a template it cannot find by its
// name, here the password) comes back masked, from either process.
func TestSOPSValuesMaskedInErrors(t *testing.T) {
	keys, recipient := ageKey(t)
	root := sopsCheckout(t, recipient)
	write(t, filepath.Join(root, "chart/templates/secret.yaml"), `{{ include .Values.db.password . }}`)
	for name, e := range engines(t) {
		t.Run(name, func(t *testing.T) {
			_, err := e.Render(context.Background(), Input{Root: root, Path: "chart", Namespace: "shop", Revision: "r1",
				ValuesFiles: []string{"values-secret.yaml"}, Decryption: keys})
			if err == nil {
				t.Fatal("rendered")
			}
			if strings.Contains(err.Error(), dbPassword) || !strings.Contains(err.Error(), decrypt.Masked) {
				t.Fatalf("the message is not masked: %v", err)
			}
		})
	}
}
