package main

import (
	"fmt"
	"io"
	"os"

	"sigs.k8s.io/yaml"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/controllers"
	"github.com/landfall-dev/landfall/health"
)

// maxHealthRulesFile bounds the health rules file, read before it is parsed.
const maxHealthRulesFile = 1 << 20

// loadHealthRules reads and compiles a YAML list of health expressions, as an
// Application's spec.healthCheckExprs holds them. No file: no rules. Unknown fields and
// expressions that do not compile are errors naming them.
func loadHealthRules(path string) (*health.Rules, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("health rules: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxHealthRulesFile+1))
	if err != nil {
		return nil, fmt.Errorf("health rules %s: %w", path, err)
	}
	if len(raw) > maxHealthRulesFile {
		return nil, fmt.Errorf("health rules %s: larger than %d bytes", path, maxHealthRulesFile)
	}
	var exprs []landfallv1.HealthCheckExpr
	if err := yaml.UnmarshalStrict(raw, &exprs); err != nil {
		return nil, fmt.Errorf("health rules %s: %w", path, err)
	}
	rules, err := health.CompileRules(controllers.HealthRulesOf(exprs))
	if err != nil {
		return nil, fmt.Errorf("health rules %s: %w", path, err)
	}
	return rules, nil
}
