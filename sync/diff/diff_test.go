package diff

import (
	"encoding/base64"
	"math"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func obj(t testing.TB, y string) *unstructured.Unstructured {
	t.Helper()
	js, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil {
		t.Fatal(err)
	}
	return u
}

const desiredDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.example.com/web:1.5.0
      - name: proxy
        image: envoyproxy/envoy:v1.33.0
`

// liveDeployment is desiredDeployment as the API server returns it after an earlier apply
// of image 1.4.2 and an autoscaler raising replicas to 5.
const liveDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
  uid: 0b3c1c5e-3c0d-4f6e-9b8a-2f0d9a7e1c11
  resourceVersion: "48213"
  generation: 7
  creationTimestamp: "2026-03-02T10:00:51Z"
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"kind":"Deployment"}'
  managedFields:
  - manager: landfall
    operation: Apply
    apiVersion: apps/v1
    fieldsType: FieldsV1
    fieldsV1: {f:spec: {f:replicas: {}}}
spec:
  replicas: 5
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.example.com/web:1.4.2
      - name: proxy
        image: envoyproxy/envoy:v1.33.0
status:
  observedGeneration: 7
  replicas: 5
`

func ptrs(t testing.TB, paths ...string) []Pointer {
	t.Helper()
	p, err := ParsePointers(paths)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEqual(t *testing.T) {
	live, desired := obj(t, liveDeployment), obj(t, desiredDeployment)
	tests := []struct {
		name   string
		ignore []string
		want   bool
	}{
		{"image and replicas differ", nil, false},
		{"replicas ignored, image still differs", []string{"/spec/replicas"}, false},
		{"replicas and every image ignored", []string{"/spec/replicas", "/spec/template/spec/containers/*/image"}, true},
		{"replicas and first container's image ignored", []string{"/spec/replicas", "/spec/template/spec/containers/0/image"}, true},
		{"wrong container's image ignored", []string{"/spec/replicas", "/spec/template/spec/containers/1/image"}, false},
		{"paths that do not exist change nothing", []string{"/spec/nope", "/spec/template/spec/containers/9/image"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Equal(live, desired, ptrs(t, tt.ignore...)...); got != tt.want {
				t.Errorf("Equal = %v, want %v", got, tt.want)
			}
		})
	}
	if !Equal(live, live) {
		t.Error("an object differs from itself")
	}
	// Operands must not be modified by normalisation.
	if live.GetResourceVersion() != "48213" || live.Object["status"] == nil {
		t.Error("Equal modified its live operand")
	}
}

func TestNormalize(t *testing.T) {
	got, err := Normalize(obj(t, liveDeployment).Object)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["status"]; ok {
		t.Error("status kept")
	}
	meta := got["metadata"].(map[string]any)
	for _, f := range []string{"managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "annotations"} {
		if _, ok := meta[f]; ok {
			t.Errorf("metadata.%s kept", f)
		}
	}
	if meta["name"] != "web" || meta["labels"] == nil {
		t.Errorf("metadata lost user fields: %v", meta)
	}
}

// TestEqualNumberTypes: maps built in Go may hold int or float64 where decoded objects hold
// int64; the comparison must not see a difference.
func TestEqualNumberTypes(t *testing.T) {
	a := &unstructured.Unstructured{Object: map[string]any{"kind": "X", "spec": map[string]any{"n": int64(3)}}}
	b := &unstructured.Unstructured{Object: map[string]any{"kind": "X", "spec": map[string]any{"n": 3}}}
	c := &unstructured.Unstructured{Object: map[string]any{"kind": "X", "spec": map[string]any{"n": 3.0}}}
	if !Equal(a, b) || !Equal(a, c) {
		t.Error("equal numbers of different Go types compare unequal")
	}
}

func TestDiffText(t *testing.T) {
	res, err := Diff(obj(t, liveDeployment), obj(t, desiredDeployment), Options{Ignore: ptrs(t, "/spec/replicas"), Context: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := `--- live Deployment shop/web
+++ desired Deployment shop/web
@@ -17,3 +17,3 @@
       containers:
-      - image: registry.example.com/web:1.4.2
+      - image: registry.example.com/web:1.5.0
         name: web
`
	if !res.Changed || res.Text != want {
		t.Errorf("diff =\n%s\nwant\n%s", res.Text, want)
	}

	same, err := Diff(obj(t, liveDeployment), obj(t, desiredDeployment), Options{Ignore: ptrs(t, "/spec/replicas", "/spec/template/spec/containers/*/image")})
	if err != nil || same.Changed || same.Text != "" {
		t.Errorf("equal objects: %+v, %v", same, err)
	}
}

func TestDiffCreateAndDelete(t *testing.T) {
	cm := obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\ndata: {LOG_LEVEL: info}\n")
	create, err := Diff(nil, cm, Options{})
	body := func(text string) string { // the diff without its two header lines
		return strings.Join(strings.SplitN(text, "\n", 3)[2:], "")
	}
	if err != nil || !create.Changed || !strings.Contains(create.Text, "+data:") || strings.Contains(body(create.Text), "\n-") {
		t.Errorf("create diff: %v\n%s", err, create.Text)
	}
	del, err := Diff(cm, nil, Options{})
	if err != nil || !del.Changed || !strings.Contains(del.Text, "-data:") || strings.Contains(body(del.Text), "\n+") {
		t.Errorf("delete diff: %v\n%s", err, del.Text)
	}
}

func TestDiffColor(t *testing.T) {
	res, err := Diff(obj(t, liveDeployment), obj(t, desiredDeployment), Options{Color: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		ansiBold + "--- live Deployment shop/web" + ansiReset + "\n",
		ansiRed + "-  replicas: 5" + ansiReset + "\n",
		ansiGreen + "+  replicas: 3" + ansiReset + "\n",
		ansiCyan + "@@",
	} {
		if !strings.Contains(res.Text, want) {
			t.Errorf("coloured diff lacks %q:\n%s", want, res.Text)
		}
	}
}

func TestDiffBadInput(t *testing.T) {
	bad := map[string]any{"kind": "Secret", "metadata": map[string]any{"name": "s"}, "data": map[string]any{"k": math.NaN()}}
	_, err := DiffMaps(nil, bad, Options{})
	if err == nil || !strings.Contains(err.Error(), "Secret s") {
		t.Errorf("err = %v, want one naming the object", err)
	}
	if Equal(nil, &unstructured.Unstructured{Object: bad}) {
		t.Error("an object that cannot be normalised compared equal")
	}
}

func TestParsePointer(t *testing.T) {
	tests := []struct {
		in   string
		want Pointer
		err  bool
	}{
		{"/spec/replicas", Pointer{"spec", "replicas"}, false},
		{"/metadata/annotations/example.com~1owner", Pointer{"metadata", "annotations", "example.com/owner"}, false},
		{"/a~0b", Pointer{"a~b"}, false},
		{"/spec/containers/*/image", Pointer{"spec", "containers", "*", "image"}, false},
		{"spec/replicas", nil, true},
		{"", nil, true},
		{"/", nil, true},
		{"/a~2b", nil, true},
	}
	for _, tt := range tests {
		got, err := ParsePointer(tt.in)
		if (err != nil) != tt.err || strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("ParsePointer(%q) = %q, %v", tt.in, got, err)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
	}
	if _, err := ParsePointers([]string{"/ok", "bad"}); err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Errorf("ParsePointers err = %v, want it to name the bad path", err)
	}
}

func TestIgnoreListElement(t *testing.T) {
	a := &unstructured.Unstructured{Object: map[string]any{"kind": "X", "spec": map[string]any{"l": []any{"a", "injected", "b"}}}}
	b := &unstructured.Unstructured{Object: map[string]any{"kind": "X", "spec": map[string]any{"l": []any{"a", "b"}}}}
	if Equal(a, b) {
		t.Fatal("lists of different length compare equal")
	}
	// Removing index 1 on both sides drops "injected" live and "b" desired: still unequal.
	if Equal(a, b, ptrs(t, "/spec/l/1")...) {
		t.Error("removing index 1 made different lists equal")
	}
	if !Equal(a, b, ptrs(t, "/spec/l/*")...) {
		t.Error("ignoring every element left a difference")
	}
}

func BenchmarkDiff(b *testing.B) {
	live, desired := obj(b, liveDeployment), obj(b, desiredDeployment)
	for b.Loop() {
		if _, err := Diff(live, desired, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
