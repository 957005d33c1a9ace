package inventory

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestObjMetadataRoundTrip(t *testing.T) {
	tests := []struct {
		id   ObjMetadata
		text string
	}{
		{ObjMetadata{"apps", "Deployment", "shop", "web"}, "apps/Deployment/shop/web"},
		{ObjMetadata{"", "ConfigMap", "shop", "settings"}, "/ConfigMap/shop/settings"},
		{ObjMetadata{"rbac.authorization.k8s.io", "ClusterRole", "", "system:aggregate-to-view"}, "rbac.authorization.k8s.io/ClusterRole//system:aggregate-to-view"},
		{ObjMetadata{"", "Namespace", "", "shop"}, "/Namespace//shop"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if got := tt.id.String(); got != tt.text {
				t.Errorf("String = %q, want %q", got, tt.text)
			}
			back, err := ParseObjMetadata(tt.text)
			if err != nil || back != tt.id {
				t.Errorf("Parse = %+v, %v; want %+v", back, err, tt.id)
			}
		})
	}
}

func TestParseObjMetadataErrors(t *testing.T) {
	for _, s := range []string{
		"", "apps/Deployment/web", "apps/Deployment/shop/web/extra", "apps//shop/web",
		"apps/Deployment/shop/", "apps/Deploy_ment/shop/web", "a,b/Deployment/shop/web",
	} {
		if _, err := ParseObjMetadata(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) err = %v, want ErrInvalid", s, err)
		}
	}
}

func entry(group, kind, ns, name, version string) Entry {
	return Entry{ObjMetadata: ObjMetadata{group, kind, ns, name}, Version: version}
}

func mustNew(t testing.TB, entries ...Entry) Inventory {
	t.Helper()
	inv, err := New(entries...)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestEncodeDecode(t *testing.T) {
	inv := mustNew(t,
		entry("apps", "Deployment", "shop", "web", "v1"),
		entry("apps", "Deployment", "shop", "api", "v1"),
		entry("", "ConfigMap", "shop", "settings", "v1"),
		entry("rbac.authorization.k8s.io", "ClusterRole", "", "odd_name,with%chars", "v1"),
		entry("autoscaling", "HorizontalPodAutoscaler", "shop", "web", "v2"),
		entry("example.com", "Widget", "shop", "w", "v1beta1"),
		entry("example.com", "Widget", "shop", "w2", "v1"),
	)
	want := []string{
		"_ConfigMap_shop_settings_v1",
		"apps_Deployment_shop_api,web_v1",
		"autoscaling_HorizontalPodAutoscaler_shop_web_v2",
		"example.com_Widget_shop_w2_v1",
		"example.com_Widget_shop_w_v1beta1",
		"rbac.authorization.k8s.io_ClusterRole__odd_name%2Cwith%25chars_v1",
	}
	got := inv.Encode()
	if !slices.Equal(got, want) {
		t.Errorf("Encode =\n%q\nwant\n%q", got, want)
	}
	back, err := Decode(got)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(inv) {
		t.Errorf("round trip lost entries: %v vs %v", back.Entries(), inv.Entries())
	}
}

// TestDecodeOneObjectPerEntry reads the one-object form the API type documents.
func TestDecodeOneObjectPerEntry(t *testing.T) {
	inv, err := Decode([]string{"apps_Deployment_shop_web_v1", "apps_Deployment_shop_api_v1"})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := inv.Version(ObjMetadata{"apps", "Deployment", "shop", "web"}); !ok || v != "v1" || inv.Len() != 2 {
		t.Errorf("decoded %v", inv.Entries())
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, s := range []string{
		"", "apps_Deployment_shop", "apps_Deployment_shop_v1", "apps_Deployment_shop__v1",
		"apps_Deployment_shop_web,_v1", "apps__shop_web_v1", "apps_Deployment_shop_web_",
		"apps_Deployment_shop_bad%zz_v1",
	} {
		if _, err := Decode([]string{"apps_Deployment_shop_ok_v1", s}); !errors.Is(err, ErrInvalid) {
			t.Errorf("Decode(%q) err = %v, want ErrInvalid", s, err)
		}
	}
}

func TestNewRejectsInvalid(t *testing.T) {
	for _, e := range []Entry{
		entry("apps", "Deployment", "shop", "web", ""),
		entry("apps", "", "shop", "web", "v1"),
		entry("apps", "Deployment", "shop", "", "v1"),
		entry("apps", "Deployment", "sh_op", "web", "v1"),
		entry("apps", "Deployment", "shop", "a/b", "v1"),
		entry("apps", "Deployment", "shop", "web", "v_1"),
	} {
		if _, err := New(e); !errors.Is(err, ErrInvalid) {
			t.Errorf("New(%+v) err = %v, want ErrInvalid", e, err)
		}
	}
}

func TestSetOperations(t *testing.T) {
	web := entry("apps", "Deployment", "shop", "web", "v1")
	api := entry("apps", "Deployment", "shop", "api", "v1")
	cm := entry("", "ConfigMap", "shop", "settings", "v1")
	hpaV1 := entry("autoscaling", "HorizontalPodAutoscaler", "shop", "web", "v1")
	hpaV2 := entry("autoscaling", "HorizontalPodAutoscaler", "shop", "web", "v2")

	old := mustNew(t, web, api, hpaV1)
	next := mustNew(t, web, cm, hpaV2)

	tests := []struct {
		name string
		got  Inventory
		want []Entry
	}{
		{"union takes the newer version", old.Union(next), []Entry{cm, api, web, hpaV2}},
		{"difference is what to prune", old.Difference(next), []Entry{api}},
		{"difference the other way is what is new", next.Difference(old), []Entry{cm}},
		{"difference with itself is empty", old.Difference(old), []Entry{}},
		{"union with empty", old.Union(Inventory{}), []Entry{api, web, hpaV1}},
		{"empty minus anything", Inventory{}.Difference(old), []Entry{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.got.Entries(); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	// The operands are values: operations must not have changed them.
	if old.Len() != 3 || next.Len() != 3 {
		t.Errorf("operands changed: %d, %d", old.Len(), next.Len())
	}
	if !old.Contains(api.ObjMetadata) || old.Contains(cm.ObjMetadata) {
		t.Error("Contains is wrong")
	}
	if v, _ := old.Union(next).Version(hpaV1.ObjMetadata); v != "v2" {
		t.Errorf("version after union = %s, want v2", v)
	}
}

func TestFromObjectsAndJSON(t *testing.T) {
	objs := []*unstructured.Unstructured{
		{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "namespace": "shop"}}},
		{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "shop"}}},
	}
	inv, err := FromObjects(objs)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"entries":["_Namespace__shop_v1","apps_Deployment_shop_web_v1"]}`; string(raw) != want {
		t.Errorf("JSON = %s, want %s", raw, want)
	}
	var back Inventory
	if err := json.Unmarshal(raw, &back); err != nil || !back.Equal(inv) {
		t.Errorf("JSON round trip: %v, %v", back.Entries(), err)
	}
	if err := json.Unmarshal([]byte(`{"entries":["broken"]}`), &back); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad JSON entry err = %v", err)
	}
	if _, err := FromObjects([]*unstructured.Unstructured{{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}}}); err == nil {
		t.Error("an object without a name was accepted")
	}
}

// realistic returns n objects shaped like a large platform: services with the usual
// companions (ConfigMap, Secret, ServiceAccount, Service, HPA, PDB, Ingress, RBAC) spread
// over a few namespaces, plus cluster-scoped RBAC.
func realistic(n int) []Entry {
	kinds := []struct{ group, kind, version, suffix string }{
		{"apps", "Deployment", "v1", ""},
		{"", "Service", "v1", ""},
		{"", "ConfigMap", "v1", "-config"},
		{"", "Secret", "v1", "-credentials"},
		{"", "ServiceAccount", "v1", ""},
		{"autoscaling", "HorizontalPodAutoscaler", "v2", ""},
		{"policy", "PodDisruptionBudget", "v1", ""},
		{"networking.k8s.io", "Ingress", "v1", "-public"},
		{"rbac.authorization.k8s.io", "Role", "v1", "-reader"},
		{"rbac.authorization.k8s.io", "RoleBinding", "v1", "-reader"},
	}
	teams := []string{"payments", "checkout", "catalog", "search", "accounts", "shipping", "inventory", "notifications"}
	parts := []string{"api", "worker", "gateway", "scheduler", "indexer", "frontend"}
	var out []Entry
	for i := 0; len(out) < n; i++ {
		svc := fmt.Sprintf("%s-%s-%d", teams[i%len(teams)], parts[(i/len(teams))%len(parts)], i/(len(teams)*len(parts)))
		ns := "shop-" + teams[i%len(teams)]
		for _, k := range kinds {
			if len(out) == n {
				break
			}
			if k.kind == "Role" && i%10 == 0 {
				out = append(out, entry("rbac.authorization.k8s.io", "ClusterRole", "", "shop:"+svc+"-aggregate", "v1"))
				continue
			}
			out = append(out, entry(k.group, k.kind, ns, svc+k.suffix, k.version))
		}
	}
	return out
}

// TestEncodedSize keeps 5,000 objects well inside the 256 KiB a status can afford.
func TestEncodedSize(t *testing.T) {
	entries := realistic(5000)
	inv := mustNew(t, entries...)
	if inv.Len() != 5000 {
		t.Fatalf("generated %d distinct objects, want 5000", inv.Len())
	}
	raw, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	const limit = 200 << 10
	if len(raw) > limit {
		t.Errorf("5,000 objects encode to %d bytes, want at most %d", len(raw), limit)
	}
	naive := 0
	for _, e := range entries {
		naive += len(e.Group+e.Kind+e.Namespace+e.Name+e.Version) + 4 + 3
	}
	t.Logf("5,000 objects: %d bytes as JSON (%.1f KiB, %.1f bytes/object); one string per object would take %d bytes",
		len(raw), float64(len(raw))/1024, float64(len(raw))/5000, naive)
}

func BenchmarkEncode5000(b *testing.B) {
	inv := mustNew(b, realistic(5000)...)
	var size int
	for b.Loop() {
		raw, err := json.Marshal(inv)
		if err != nil {
			b.Fatal(err)
		}
		size = len(raw)
	}
	b.ReportMetric(float64(size), "bytes/5000-objects")
	b.ReportMetric(float64(size)/5000, "bytes/object")
}

func BenchmarkDecode5000(b *testing.B) {
	raw, err := json.Marshal(mustNew(b, realistic(5000)...))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		var inv Inventory
		if err := json.Unmarshal(raw, &inv); err != nil {
			b.Fatal(err)
		}
	}
}
