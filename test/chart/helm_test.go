package chart_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/kube"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/landfall-dev/landfall/test/cluster"
	"github.com/landfall-dev/landfall/test/testbin"
)

// chartDir is the chart under test, read from the working tree.
var chartDir = filepath.Join(cluster.RepoRoot(), "charts", "landfall")

// kubeVersion is what client-only renders claim to target. Helm's built-in default is far
// older than the chart's kubeVersion constraint, so `helm template` needs it too.
var kubeVersion = &chartutil.KubeVersion{Version: testbin.KubernetesVersion, Major: "1", Minor: "37"}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("loading %s: %v", chartDir, err)
	}
	return c
}

// rendered is a client-only render of the chart: the objects and NOTES.txt.
type rendered struct {
	objects []*unstructured.Unstructured
	notes   string
}

// renderChart renders the chart as `helm template` would, without a cluster.
func renderChart(t *testing.T, namespace string, values map[string]any) (*rendered, error) {
	t.Helper()
	install := action.NewInstall(&action.Configuration{Log: t.Logf})
	install.DryRun, install.ClientOnly = true, true
	install.ReleaseName, install.Namespace = "landfall", namespace
	install.KubeVersion = kubeVersion
	rel, err := install.Run(loadChart(t), values)
	if err != nil {
		return nil, err
	}
	objs, err := decodeManifest(rel.Manifest)
	if err != nil {
		return nil, err
	}
	return &rendered{objects: objs, notes: rel.Info.Notes}, nil
}

func decodeManifest(manifest string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for name, doc := range releaseutil.SplitManifests(manifest) {
		m := map[string]any{}
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(m) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
	return objs, nil
}

// find returns the rendered object of kind, namespace and name, or nil.
func (r *rendered) find(kind, namespace, name string) *unstructured.Unstructured {
	for _, o := range r.objects {
		if o.GetKind() == kind && o.GetNamespace() == namespace && o.GetName() == name {
			return o
		}
	}
	return nil
}

// all returns the rendered objects of kind, as "namespace/name" (or "name" when cluster-scoped).
func (r *rendered) all(kind string) []string {
	var out []string
	for _, o := range r.objects {
		if o.GetKind() == kind {
			out = append(out, strings.TrimPrefix(o.GetNamespace()+"/"+o.GetName(), "/"))
		}
	}
	return out
}

// as converts a rendered object into a typed one.
func as[T any](t *testing.T, o *unstructured.Unstructured) *T {
	t.Helper()
	if o == nil {
		t.Fatalf("object not rendered")
	}
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, out); err != nil {
		t.Fatalf("converting %s %s: %v", o.GetKind(), o.GetName(), err)
	}
	return out
}

// helmConfig is a Helm action configuration against a real cluster, with the release
// records kept in Secrets as the helm CLI keeps them.
func helmConfig(t *testing.T, kubeconfig, namespace string) *action.Configuration {
	t.Helper()
	cfg := &action.Configuration{}
	if err := cfg.Init(kube.GetConfig(kubeconfig, "", namespace), namespace, "secret", t.Logf); err != nil {
		t.Fatalf("helm: %v", err)
	}
	return cfg
}

// helmInstall installs the chart, with its CRDs, as `helm install` does.
func helmInstall(t *testing.T, kubeconfig, name, namespace string, values map[string]any) *release.Release {
	t.Helper()
	install := action.NewInstall(helmConfig(t, kubeconfig, namespace))
	install.ReleaseName, install.Namespace = name, namespace
	install.CreateNamespace = true
	install.Timeout = time.Minute
	rel, err := install.Run(loadChart(t), values)
	if err != nil {
		t.Fatalf("helm install %s: %v", name, err)
	}
	return rel
}

// helmUpgrade upgrades a release to the chart's defaults plus values, as
// `helm upgrade --reset-values` does.
func helmUpgrade(t *testing.T, kubeconfig, name, namespace string, values map[string]any) *release.Release {
	t.Helper()
	upgrade := action.NewUpgrade(helmConfig(t, kubeconfig, namespace))
	upgrade.Namespace, upgrade.ResetValues = namespace, true
	upgrade.Timeout = time.Minute
	rel, err := upgrade.Run(name, loadChart(t), values)
	if err != nil {
		t.Fatalf("helm upgrade %s: %v", name, err)
	}
	return rel
}
