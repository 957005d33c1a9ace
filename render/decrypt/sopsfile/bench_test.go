package sopsfile

import (
	"fmt"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"
)

// BenchmarkSecret is the cost of decrypting SOPS Secrets (age data key, AES-GCM values, MAC,
// clear YAML out), next to the baseline of parsing the same Secrets in clear, which a
// render does either way. The figure per 100 is what an environment of 100 encrypted
// Secrets adds to a render that is not answered from the cache.
func BenchmarkSecret(b *testing.B) {
	k, r := newKey(b)
	for _, n := range []int{1, 100} {
		files := make([][]byte, n)
		for i := range files {
			files[i] = encrypt(b, "s.yaml", fmt.Sprintf("%spassword%d: value-%d\n", secretYAML, i, i),
				EncryptOptions{EncryptedRegex: "^(data|stringData)$"}, r)
		}
		b.Run(fmt.Sprintf("n=%d/clear-baseline", n), func(b *testing.B) {
			for b.Loop() {
				for range files {
					var m map[string]any
					if err := sigsyaml.Unmarshal([]byte(secretYAML), &m); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(fmt.Sprintf("n=%d/sops-age", n), func(b *testing.B) {
			for b.Loop() {
				for _, f := range files {
					if _, _, _, err := k.File("s.yaml", f); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
