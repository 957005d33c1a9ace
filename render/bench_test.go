package render

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// kustomize50 writes a Kustomize overlay that renders 50 objects: a base of 24 Deployments
// and 24 Services, and an overlay with a patch, images, labels, a generated ConfigMap and a
// PodDisruptionBudget.
func kustomize50(tb testing.TB, root string) {
	var res strings.Builder
	files := map[string]string{}
	for i := range 24 {
		name := fmt.Sprintf("svc-%02d", i)
		files["base/"+name+".yaml"] = fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: 1
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
      - name: app
        image: shop
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
spec:
  selector: {app: %[1]s}
  ports: [{port: 80, targetPort: 8080}]
`, name)
		res.WriteString("- " + name + ".yaml\n")
	}
	files["base/kustomization.yaml"] = "resources:\n" + res.String()
	files["overlay/kustomization.yaml"] = `resources:
- ../base
- pdb.yaml
namePrefix: prod-
labels:
- pairs: {env: prod}
images:
- {name: shop, newName: registry.example.com/shop, newTag: "2.0.0"}
configMapGenerator:
- {name: settings, literals: [MODE=fast]}
patches:
- target: {kind: Deployment}
  patch: |-
    - {op: replace, path: /spec/replicas, value: 3}
`
	files["overlay/pdb.yaml"] = "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: all\nspec:\n  minAvailable: 1\n  selector:\n    matchLabels: {env: prod}\n"
	writeFiles(tb, root, files)
}

// chart50 writes a chart that renders 50 objects: a Deployment and a Service for each of 25
// services listed in the values.
func chart50(tb testing.TB, root string) {
	var vals strings.Builder
	vals.WriteString("image: registry.example.com/shop:2.0.0\nservices:\n")
	for i := range 25 {
		fmt.Fprintf(&vals, "- {name: svc-%02d, port: %d}\n", i, 8000+i)
	}
	writeFiles(tb, root, map[string]string{
		"chart/Chart.yaml":  "apiVersion: v2\nname: bench\nversion: 1.0.0\n",
		"chart/values.yaml": vals.String(),
		"chart/templates/_helpers.tpl": `{{- define "bench.labels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}`,
		"chart/templates/services.yaml": `{{- range .Values.services }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $.Release.Name }}-{{ .name }}
  labels:
    {{- include "bench.labels" $ | nindent 4 }}
spec:
  replicas: 2
  selector:
    matchLabels: {app: {{ .name }}}
  template:
    metadata:
      labels: {app: {{ .name }}}
    spec:
      containers:
      - name: app
        image: {{ $.Values.image | quote }}
        ports: [{containerPort: {{ .port }}}]
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $.Release.Name }}-{{ .name }}
  labels:
    {{- include "bench.labels" $ | nindent 4 }}
spec:
  selector: {app: {{ .name }}}
  ports: [{port: 80, targetPort: {{ .port }}}]
{{- end }}
`,
	})
}

func BenchmarkRenderKustomize50(b *testing.B) {
	root := b.TempDir()
	kustomize50(b, root)
	benchRender(b, Input{Root: root, Path: "overlay", Namespace: "shop"})
}

func BenchmarkRenderHelm50(b *testing.B) {
	root := b.TempDir()
	chart50(b, root)
	benchRender(b, Input{Root: root, Path: "chart", Namespace: "shop", ReleaseName: "bench"})
}

// benchRender measures one app three ways: rendering for real (after a warm-up render,
// which parses Kustomize's OpenAPI schema once per process), answering the same revision
// from the cache, and answering a new revision whose inputs are unchanged.
func benchRender(b *testing.B, in Input) {
	check := func(res *Result, err error, cached bool) {
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Objects) != 50 || res.Cached != cached {
			b.Fatalf("%d objects, cached %v; want 50, %v", len(res.Objects), res.Cached, cached)
		}
	}
	b.Run("uncached", func(b *testing.B) {
		e := New(WithCacheSize(0))
		res, err := e.Render(b.Context(), in)
		check(res, err, false)
		for b.Loop() {
			res, err := e.Render(b.Context(), in)
			check(res, err, false)
		}
		reportPerOp(b, "ms/render")
	})
	b.Run("cached-same-revision", func(b *testing.B) {
		e := New()
		in.Revision = "r1"
		res, err := e.Render(b.Context(), in)
		check(res, err, false)
		for b.Loop() {
			res, err := e.Render(b.Context(), in)
			check(res, err, true)
		}
		reportPerOp(b, "ms/render")
	})
	b.Run("cached-new-revision", func(b *testing.B) {
		e := New()
		in.Revision = "r0"
		res, err := e.Render(b.Context(), in)
		check(res, err, false)
		i := 0
		for b.Loop() {
			i++
			in.Revision = fmt.Sprintf("r%d", i)
			res, err := e.Render(b.Context(), in)
			check(res, err, true)
		}
		reportPerOp(b, "ms/render")
	})
}

// BenchmarkMonorepoCommit renders all 200 apps of a monorepo after a commit that changed
// one of them: 199 answers from the cache after re-checking their inputs, and one render.
func BenchmarkMonorepoCommit(b *testing.B) {
	const n = 200
	root := filepath.Join(b.TempDir(), "repo")
	monorepo(b, root, n)
	e := New()
	renderAll(b, e, root, "c0", n)
	commit := 0
	before := e.Stats()
	for b.Loop() {
		commit++
		writeFiles(b, root, map[string]string{
			appDir(commit%n) + "/config.properties": fmt.Sprintf("app=%d\nversion=%d\n", commit%n, commit+1), // version=1 is the initial content
		})
		renderAll(b, e, root, fmt.Sprintf("c%d", commit), n)
	}
	after := e.Stats()
	reportPerOp(b, "ms/commit")
	b.ReportMetric(float64(after.Renders-before.Renders)/float64(commit), "renders/commit")
}

func reportPerOp(b *testing.B, unit string) {
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), unit)
}
