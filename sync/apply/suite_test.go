package apply

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	"github.com/landfall-dev/landfall/test/cluster"
)

// One real apiserver (envtest: etcd + kube-apiserver) serves every test and benchmark of
// the package; each test works in its own namespaces.
var (
	cfg *rest.Config
	k8s client.Client
)

const (
	testManager  = "landfall"
	ownerKey     = "landfall.dev/owner"
	waveKey      = "landfall.dev/sync-wave"
	managedLabel = "landfall.dev/managed"
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctrllog.SetLogger(logr.Discard()) // the package logs through the context's logger
	env, err := cluster.NewEnvtest()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if cfg, err = env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	// Client-side throttling would hide what the apiserver costs, in tests and benchmarks.
	cfg.QPS, cfg.Burst = 5000, 10000
	if k8s, err = client.New(cfg, client.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// newManager returns a Manager with Landfall's settings, owning objects as owner.
func newManager(t testing.TB, c client.Client, owner string, tweak ...func(*Options)) *Manager {
	t.Helper()
	opts := Options{FieldManager: testManager, OwnerAnnotation: ownerKey, Owner: owner, WaveAnnotation: waveKey}
	for _, f := range tweak {
		f(&opts)
	}
	m, err := New(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// obj parses one YAML object made from format and args.
func obj(t testing.TB, format string, args ...any) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(fmt.Appendf(nil, format, args...), &u.Object); err != nil {
		t.Fatalf("bad test object: %v", err)
	}
	return u
}

func namespace(t testing.TB, name string) *unstructured.Unstructured {
	return obj(t, "{apiVersion: v1, kind: Namespace, metadata: {name: %s}}", name)
}

func configMap(t testing.TB, ns, name, value string) *unstructured.Unstructured {
	return obj(t, "{apiVersion: v1, kind: ConfigMap, metadata: {name: %s, namespace: %s}, data: {key: %q}}", name, ns, value)
}

func deployment(t testing.TB, ns, name string, replicas int) *unstructured.Unstructured {
	return obj(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  replicas: %[3]d
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      containers: [{name: app, image: "registry.example/app:1"}]
`, name, ns, replicas)
}

// crd defines kind in group, namespaced, with one served version v1 that keeps any spec.
func crd(t testing.TB, group, kind, plural string) *unstructured.Unstructured {
	return obj(t, `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: %[3]s.%[1]s}
spec:
  group: %[1]s
  scope: Namespaced
  names: {kind: %[2]s, plural: %[3]s, singular: %[4]s, listKind: %[2]sList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
`, group, kind, plural, strings.ToLower(kind))
}

// withAnnotation sets one annotation on u and returns it.
func withAnnotation(u *unstructured.Unstructured, key, value string) *unstructured.Unstructured {
	a := u.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[key] = value
	u.SetAnnotations(a)
	return u
}

// live reads the object ref names from the cluster.
func live(ctx context.Context, ref ObjectRef) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(ref.GroupVersionKind())
	err := k8s.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, u)
	return u, err
}

// actions returns "ref action" per change, in order, for readable assertions; the test's
// namespace ns, when given, reads as NS.
func actions(cs *ChangeSet, ns string) []string {
	var out []string
	for _, c := range cs.Changes {
		line := c.Ref.String() + " " + string(c.Action)
		if ns != "" {
			line = strings.ReplaceAll(line, ns, "NS")
		}
		out = append(out, line)
	}
	return out
}

// inNS puts the namespace ns where s says NS.
func inNS(ns, s string) string { return strings.ReplaceAll(s, "NS", ns) }

var runs atomic.Int64

// unique returns base with a suffix unique in this process, so tests also pass with
// -count=N against the one apiserver, where objects of earlier runs remain.
func unique(base string) string { return fmt.Sprintf("%s-%d", base, runs.Add(1)) }
