package controllers

import (
	"errors"
	"strings"
	"testing"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// TestNamespaceNoPolicySelects: when no policy selects a namespace (a policy that matches
// no namespace, or none at all), a controller started with --require-tenant-policy refuses
// its Repositories and Applications, naming the namespace; without the flag they are
// confined only by their ServiceAccount, as documented.
func TestNamespaceNoPolicySelects(t *testing.T) {
	env := &landfallv1.Environment{Name: "staging", Namespace: "team-x-staging"}
	strict := &tenant{namespace: "team-x", strict: true}
	for name, err := range map[string]error{
		"repository":  strict.checkRepository("https://git.example/team-x/config.git"),
		"environment": strict.checkEnvironment(env),
	} {
		if !errors.Is(err, errPolicyViolation) || !strings.Contains(err.Error(), "no TenantPolicy selects namespace team-x") {
			t.Errorf("%s in a namespace no policy selects, strict: %v; want a PolicyViolation naming the namespace", name, err)
		}
	}
	lax := &tenant{namespace: "team-x"}
	if err := errors.Join(lax.checkRepository("https://git.example/team-x/config.git"), lax.checkEnvironment(env)); err != nil {
		t.Errorf("not strict: %v; want it unconfined by policy", err)
	}
}
