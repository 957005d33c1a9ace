//go:build !race

// SOPS under the race detector would instrument the clients of every cloud key service the
// sops library links: these run without it (see controllers/application_sops_test.go).

package render

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/landfall-dev/landfall/render/decrypt/sopsfile"
)

// BenchmarkSOPSRender: a plain folder of n Secrets rendered whole (cache off, in this
// process), each Secret in clear (the baseline) or SOPS-encrypted for an age key: what
// decryption adds to a render, per Secret and for 100. ms/Secret is the whole render's
// time over n.
func BenchmarkSOPSRender(b *testing.B) {
	keys, recipient := ageKey(b)
	for _, n := range []int{1, 100} {
		for _, mode := range []string{"clear-baseline", "sops-age"} {
			root := b.TempDir()
			for i := range n {
				clear := fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s%d\nstringData:\n  password: value-%d-%s\n", i, i, dbPassword)
				p := filepath.Join(root, "app", fmt.Sprintf("s%d.yaml", i))
				if mode == "clear-baseline" {
					write(b, p, clear)
					continue
				}
				enc, err := sopsfile.Encrypt(p, []byte(clear), []string{recipient}, sopsfile.EncryptOptions{EncryptedRegex: "^(data|stringData)$"})
				if err != nil {
					b.Fatal(err)
				}
				write(b, p, string(enc))
			}
			e := New(WithCacheSize(0))
			in := Input{Root: root, Path: "app", Namespace: "shop", Decryption: keys}
			b.Run(fmt.Sprintf("n=%d/%s", n, mode), func(b *testing.B) {
				for b.Loop() {
					res, err := e.Render(context.Background(), in)
					if err != nil {
						b.Fatal(err)
					}
					if len(res.Objects) != n {
						b.Fatalf("%d objects, want %d", len(res.Objects), n)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/float64(n), "ms/Secret")
			})
		}
	}
}
