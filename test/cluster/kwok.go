package cluster

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/landfall-dev/landfall/test/testbin"
)

var (
	//go:embed kwok/kwok.yaml
	kwokConfig string
	//go:embed kwok/pod-stages.yaml
	podStages string
)

// kwokUpstreamStages are kwok's own stages, copied from its module by make testbin: node
// initialisation and heartbeats, Job pods completing and deleted pods going away.
var kwokUpstreamStages = []string{"node-initialize.yaml", "node-heartbeat-with-lease.yaml", "pod-complete.yaml", "pod-delete.yaml"}

// writeKwokConfig writes kwok.yaml and stages.yaml (every stage in one stream) into dir.
func writeKwokConfig(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	docs := []string{podStages}
	for _, name := range kwokUpstreamStages {
		b, err := os.ReadFile(filepath.Join(testbin.Dir(), "kwok-stages", name))
		if err != nil {
			return fmt.Errorf("kwok stage %s (run `make testbin`): %w", name, err)
		}
		docs = append(docs, string(b))
	}
	if err := os.WriteFile(filepath.Join(dir, "kwok.yaml"), []byte(kwokConfig), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "stages.yaml"), []byte(strings.Join(docs, "\n---\n")), 0o644)
}
