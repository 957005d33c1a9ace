package health

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// gadget is a custom resource of group e2e.landfall.dev with the given status.
func gadget(spec, status map[string]any) *unstructured.Unstructured {
	obj := map[string]any{"apiVersion": "e2e.landfall.dev/v1", "kind": "Gadget",
		"metadata": map[string]any{"name": "g", "namespace": "ns", "generation": int64(1)}}
	if spec != nil {
		obj["spec"] = spec
	}
	if status != nil {
		obj["status"] = status
	}
	return &unstructured.Unstructured{Object: obj}
}

var gadgetRule = Rule{Group: "e2e.landfall.dev", Kind: "Gadget",
	InProgress: "!has(status.observedVersion) || status.observedVersion != spec.version",
	Failed:     "has(status.phase) && status.phase == 'Failed'",
	Current:    "status.phase == 'Ready'",
}

func TestRules(t *testing.T) {
	rules, err := CompileRules([]Rule{gadgetRule,
		{Kind: "ConfigMap", Current: "self.data.ready == 'yes'"}, // fields beyond the five through self
		{Group: "e2e.landfall.dev", Kind: "Typed", Current: "status.count"},
		{Group: "e2e.landfall.dev", Kind: "Costly", Current: "status.items.all(a, status.items.all(b, status.items.all(c, a + b + c >= 0)))"},
	})
	if err != nil {
		t.Fatal(err)
	}
	items := make([]any, 200)
	for i := range items {
		items[i] = int64(i)
	}
	typed, costly := gadget(nil, map[string]any{"count": int64(3)}), gadget(nil, map[string]any{"items": items})
	typed.SetKind("Typed")
	costly.SetKind("Costly")
	cm := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "c"}, "data": map[string]any{"ready": "yes"}}}
	for _, tc := range []struct {
		name string
		obj  *unstructured.Unstructured
		want Status
		msg  string
	}{
		// kstatus calls a custom resource without conditions Current: the rule wins.
		{"new object, no status", gadget(map[string]any{"version": "v1"}, nil), Progressing, "inProgress is true"},
		{"observed another version", gadget(map[string]any{"version": "v2"}, map[string]any{"observedVersion": "v1", "phase": "Ready"}), Progressing, "inProgress"},
		{"ready", gadget(map[string]any{"version": "v1"}, map[string]any{"observedVersion": "v1", "phase": "Ready"}), Healthy, "current is true"},
		{"failed", gadget(map[string]any{"version": "v1"}, map[string]any{"observedVersion": "v1", "phase": "Failed",
			"conditions": []any{map[string]any{"type": "Ready", "status": "False", "message": "disk full"}}}), Degraded, "failed is true (Ready: disk full)"},
		{"no expression true", gadget(map[string]any{"version": "v1"}, map[string]any{"observedVersion": "v1", "phase": "Starting"}), Progressing, "no expression is true"},
		{"spec field missing at run time", gadget(nil, map[string]any{"observedVersion": "v1"}), Unknown, "health rule inProgress failed: no such key: version"},
		{"self", cm, Healthy, "current is true"},
		{"not a bool", typed, Unknown, "not a bool"},
		{"over the cost limit", costly, Unknown, "cost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rules.Of(tc.obj)
			if got.Status != tc.want || !strings.Contains(got.Message, tc.msg) {
				t.Fatalf("Of = %+v; want %s with %q", got, tc.want, tc.msg)
			}
		})
	}
	if got := rules.Of(load(t, "deployment/healthy.yaml")); got.Status != Healthy {
		t.Fatalf("a kind without a rule is judged by the built-in rules: %+v", got)
	}
}

func TestCompileRulesRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule Rule
		msg  string
	}{
		{"syntax", Rule{Kind: "Gadget", Current: "status.phase =="}, "health rule 0 (Gadget): current: ERROR"},
		{"undeclared variable", Rule{Kind: "ConfigMap", Current: "data.ready == 'yes'"}, "undeclared reference to 'data'"},
		{"unknown function", Rule{Kind: "Gadget", Current: "frobnicate(status)"}, "undeclared reference to 'frobnicate'"},
		{"not a bool", Rule{Kind: "Gadget", Current: "'yes'"}, "gives string, not a bool"},
		{"failed of the wrong type", Rule{Kind: "Gadget", Current: "true", Failed: "1 + 1"}, "failed: the expression gives int"},
		{"no current", Rule{Kind: "Gadget", Failed: "true"}, "current is required"},
		{"too long", Rule{Kind: "Gadget", Current: "true || " + strings.Repeat("true || ", MaxExpressionLength/8) + "true"}, "limit is 4096"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CompileRules([]Rule{tc.rule})
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("CompileRules = %v; want an error with %q", err, tc.msg)
			}
		})
	}
	if _, err := CompileRules([]Rule{{Kind: "A", Current: "true"}, {Kind: "A", Current: "false"}}); err == nil {
		t.Fatal("a kind given twice was accepted")
	}
}

// TestRulesOver: an Application's rule for a kind wins over the controller's; the
// controller's applies to the kinds the Application has none for.
func TestRulesOver(t *testing.T) {
	global, err := CompileRules([]Rule{{Group: "e2e.landfall.dev", Kind: "Gadget", Current: "true"},
		{Group: "e2e.landfall.dev", Kind: "Widget", Failed: "true", Current: "true"}})
	if err != nil {
		t.Fatal(err)
	}
	app, err := CompileRules([]Rule{{Group: "e2e.landfall.dev", Kind: "Gadget", Current: "false", Failed: "true"}})
	if err != nil {
		t.Fatal(err)
	}
	rules := app.Over(global)
	widget := gadget(nil, nil)
	widget.SetKind("Widget")
	if got := rules.Of(gadget(nil, nil)).Status; got != Degraded {
		t.Fatalf("Gadget = %s; want the Application's rule (Degraded)", got)
	}
	if got := rules.Of(widget).Status; got != Degraded {
		t.Fatalf("Widget = %s; want the controller's rule (Degraded)", got)
	}
	var none *Rules
	if got := none.Over(nil).Of(gadget(nil, nil)).Status; got != Healthy {
		t.Fatalf("without rules a Gadget is judged by kstatus (Current): %s", got)
	}
}

// BenchmarkRule compares one object's health by a CEL rule with the built-in reader of the
// same object (kstatus, for a custom resource).
func BenchmarkRule(b *testing.B) {
	rules, err := CompileRules([]Rule{gadgetRule})
	if err != nil {
		b.Fatal(err)
	}
	obj := gadget(map[string]any{"version": "v1"}, map[string]any{"observedVersion": "v1", "phase": "Ready",
		"conditions": []any{map[string]any{"type": "Ready", "status": "True"}}})
	b.Run("cel", func(b *testing.B) {
		for b.Loop() {
			if rules.Of(obj).Status != Healthy {
				b.Fatal("not healthy")
			}
		}
	})
	b.Run("kstatus", func(b *testing.B) {
		for b.Loop() {
			if Of(obj).Status != Healthy {
				b.Fatal("not healthy")
			}
		}
	})
}
