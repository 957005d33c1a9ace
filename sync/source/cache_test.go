package source

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenCacheReindexesCheckoutsAndCleansLeftovers(t *testing.T) {
	root := t.TempDir()
	commit := strings.Repeat("ab", 20)
	kept := filepath.Join(root, "repokey", commit)
	leftover := filepath.Join(root, "tmp", "fetch-123", "tree")
	for _, d := range []string{kept, leftover, filepath.Join(root, "repokey", "not-a-commit")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(kept, "f"), make([]byte, 1234), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := openCache(root, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if bytes, n := c.usage(); bytes != 1234 || n != 1 {
		t.Errorf("usage = %d bytes, %d entries; want 1234, 1", bytes, n)
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("leftover of an interrupted fetch survived: %v", err)
	}
	e, ok := c.acquire("repokey/" + commit)
	if !ok || e.dir != kept {
		t.Fatalf("acquire = %v, %v", e, ok)
	}
	c.release(e)

	// Reopening with a smaller bound evicts what no longer fits.
	c, err = openCache(root, 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, n := c.usage(); n != 0 {
		t.Errorf("over-size cache kept %d entries", n)
	}
	if _, err := os.Stat(kept); !os.IsNotExist(err) {
		t.Errorf("evicted checkout still on disk: %v", err)
	}
}
