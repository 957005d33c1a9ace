package render

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/landfall-dev/landfall/render/confine"
	"github.com/landfall-dev/landfall/render/helm"
	"github.com/landfall-dev/landfall/render/kustomize"
	"github.com/landfall-dev/landfall/render/manifest"
)

// secretMark is the content of testdata/outside: it must never show up in an error.
const secretMark = "OUTSIDE-THE-CHECKOUT"

type badCase struct {
	name    string
	in      Input
	wantErr error  // errors.Is target
	wantMsg string // the error must name this (a file, a path, an object)
}

func badInput(path string) Input {
	return Input{Root: repo, Path: path, Namespace: "shop", Revision: "r1"}
}

func helmInput(values ...string) Input {
	in := badInput("helm/shop")
	in.ValuesFiles, in.Policy.AllowClusterScoped = values, true
	return in
}

func TestAdversarialFixtures(t *testing.T) {
	badValues := helmInput()
	badValues.Values = map[string]any{"replicaCount": "many"}
	absolute := badInput("plain/app")
	absolute.Path = "/etc"
	cases := []badCase{
		{"values file climbing out", helmInput("../../../../etc/passwd"), confine.ErrEscapes, "../../../../etc/passwd"},
		{"values file absolute", helmInput("/etc/passwd"), confine.ErrAbsolute, "/etc/passwd"},
		{"values file billion laughs", helmInput("../../bad/bomb/values.yaml"), manifest.ErrAliasBomb, "bad/bomb/values.yaml"},
		{"app path absolute", absolute, confine.ErrAbsolute, "/etc"},
		{"app path climbing out", badInput("../outside"), confine.ErrEscapes, "../outside"},
		{"kustomize resource outside the checkout", badInput("bad/escape-resource"), confine.ErrEscapes, "outside/secret.yaml"},
		{"kustomize base outside the checkout", badInput("bad/escape-base"), confine.ErrEscapes, "../../../outside"},
		{"kustomize absolute resource", badInput("bad/absolute-resource"), confine.ErrAbsolute, "/etc/passwd"},
		{"kustomize cycle", badInput("bad/cycle/a"), kustomize.ErrCycle, "bad/cycle/a -> bad/cycle/b -> bad/cycle/a"},
		{"kustomize remote base", badInput("bad/remote-base"), kustomize.ErrRemote, "github.com/kubernetes-sigs/kustomize"},
		{"kustomize remote file", badInput("bad/remote-file"), kustomize.ErrRemote, "https://raw.githubusercontent.com"},
		{"kustomize helmCharts", badInput("bad/helm-in-kustomize"), kustomize.ErrHelm, "bad/helm-in-kustomize/kustomization.yaml"},
		{"kustomize billion laughs", badInput("bad/bomb/kustomize"), manifest.ErrAliasBomb, "bad/bomb/kustomize/laughs.yaml"},
		{"plain billion laughs", badInput("bad/bomb/plain"), manifest.ErrAliasBomb, "bad/bomb/plain/laughs.yaml"},
		{"values against the chart schema", badValues, nil, "replicaCount"},
		{"helm remote dependency", badInput("bad/remote-dependency"), helm.ErrRemoteDependency, "postgresql"},
		{"object in a foreign namespace", badInput("bad/foreign-namespace"), ErrNamespaceNotAllowed, "ConfigMap kube-system/sneaky"},
		{"cluster-scoped object", badInput("bad/cluster-scoped"), ErrClusterScopedNotAllowed, "ClusterRoleBinding everyone-admin"},
		{"missing namespace", Input{Root: repo, Path: "plain/app"}, ErrInput, "no target namespace"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { expectRefused(t, New(), c) })
	}
}

// expectRefused checks that a render fails fast, with nothing rendered, an error that names
// the culprit, and neither outside content nor the checkout's location on disk in it.
func expectRefused(t *testing.T, e *Engine, c badCase) {
	t.Helper()
	start := time.Now()
	res, err := e.Render(context.Background(), c.in)
	// A generous bound: the refusal must not hang on a loaded machine; how fast it is
	// belongs in a benchmark.
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("took %v to fail, want it bounded", took)
	}
	if err == nil {
		t.Fatalf("rendered %d objects, want an error", len(res.Objects))
	}
	if res != nil {
		t.Errorf("got a result alongside the error")
	}
	if c.wantErr != nil && !errors.Is(err, c.wantErr) {
		t.Errorf("error %q is not %q", err, c.wantErr)
	}
	msg := err.Error()
	if !strings.Contains(msg, c.wantMsg) {
		t.Errorf("error %q does not name %q", msg, c.wantMsg)
	}
	if strings.Contains(msg, secretMark) {
		t.Errorf("error leaks content from outside the checkout: %q", msg)
	}
	if abs, _ := filepath.Abs(c.in.Root); abs != "" && strings.Contains(msg, abs) {
		t.Errorf("error shows where the checkout lives on disk: %q", msg)
	}
	t.Logf("refused: %v", err)
}

// checkoutCopy copies the fixture checkout and the outside folder into a temporary
// directory, so a test can add symlinks. It returns the new checkout root and outside dir.
func checkoutCopy(t *testing.T) (root, outside string) {
	t.Helper()
	dir := t.TempDir()
	root, outside = filepath.Join(dir, "repo"), filepath.Join(dir, "outside")
	if err := os.CopyFS(root, os.DirFS(repo)); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(outside, os.DirFS("testdata/outside")); err != nil {
		t.Fatal(err)
	}
	return root, outside
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSymlinksOutOfTheCheckout(t *testing.T) {
	root, outside := checkoutCopy(t)
	secret := filepath.Join(outside, "secret.yaml")
	symlink(t, secret, filepath.Join(root, "plain/app/leak.yaml"))
	symlink(t, outside, filepath.Join(root, "plain/dir/leakdir"))
	symlink(t, "../../../outside/secret.yaml", filepath.Join(root, "kustomize/linked/secret.yaml"))
	write(t, filepath.Join(root, "kustomize/linked/kustomization.yaml"), "resources:\n- secret.yaml\n")
	symlink(t, outside, filepath.Join(root, "kustomize/linkedbase/base"))
	write(t, filepath.Join(root, "kustomize/linkedbase/kustomization.yaml"), "resources:\n- base\n")
	symlink(t, secret, filepath.Join(root, "helm/shop/values-leak.yaml"))
	symlink(t, outside, filepath.Join(root, "evil"))

	in := func(path string) Input { return Input{Root: root, Path: path, Namespace: "shop"} }
	values := in("helm/shop")
	values.ValuesFiles, values.Policy.AllowClusterScoped = []string{"values-leak.yaml"}, true
	cases := []badCase{
		{"plain file", in("plain/app"), confine.ErrEscapes, "plain/app/leak.yaml"},
		{"plain folder", in("plain/dir"), confine.ErrEscapes, "plain/dir/leakdir"},
		{"kustomize resource", in("kustomize/linked"), confine.ErrEscapes, "kustomize/linked/secret.yaml"},
		{"kustomize base", in("kustomize/linkedbase"), confine.ErrEscapes, "kustomize/linkedbase/base"},
		{"helm values file", values, confine.ErrEscapes, "helm/shop/values-leak.yaml"},
		{"app path", in("evil"), confine.ErrEscapes, "evil"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { expectRefused(t, New(), c) })
	}

	t.Run("helm template", func(t *testing.T) {
		symlink(t, secret, filepath.Join(root, "helm/shop/templates/leak.yaml"))
		c := badCase{"", in("helm/shop"), confine.ErrEscapes, "helm/shop/templates/leak.yaml"}
		c.in.Policy.AllowClusterScoped = true
		expectRefused(t, New(), c)
	})
}

func TestSymlinksWithinTheCheckoutWork(t *testing.T) {
	root, _ := checkoutCopy(t)
	symlink(t, "../../kustomize/base/service.yaml", filepath.Join(root, "plain/app/linked-service.yaml"))
	symlink(t, ".", filepath.Join(root, "plain/app/loop")) // a loop is walked once, not forever
	res, err := New().Render(context.Background(), Input{Root: root, Path: "plain/app", Namespace: "shop-plain"})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, o := range res.Objects {
		found = found || (o.GetKind() == "Service" && o.GetName() == "web")
	}
	if !found {
		t.Errorf("the symlinked Service web was not rendered")
	}
}

func TestKustomizeResourceOutsideItsFolder(t *testing.T) {
	// A file (not a base) above the kustomization's own folder is refused by krusty's
	// root-only load restriction, even inside the checkout.
	root, _ := checkoutCopy(t)
	write(t, filepath.Join(root, "apps/a/kustomization.yaml"), "resources:\n- ../sibling.yaml\n")
	write(t, filepath.Join(root, "apps/sibling.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n")
	_, err := New().Render(context.Background(), Input{Root: root, Path: "apps/a", Namespace: "shop"})
	if err == nil || !strings.Contains(err.Error(), "sibling.yaml") {
		t.Fatalf("err = %v, want a refusal naming shared.yaml", err)
	}
}

func TestMissingKustomizeResourceIsNotFetched(t *testing.T) {
	root, _ := checkoutCopy(t)
	write(t, filepath.Join(root, "apps/a/kustomization.yaml"), "resources:\n- ../nowhere\n")
	_, err := New().Render(context.Background(), Input{Root: root, Path: "apps/a", Namespace: "shop"})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "../nowhere") {
		t.Fatalf("err = %v, want not-exist naming ../nowhere", err)
	}
}

func TestLimits(t *testing.T) {
	cases := []struct {
		name   string
		limits Limits
		want   error
	}{
		{"objects", Limits{MaxObjects: 3}, manifest.ErrLimit},
		{"output bytes", Limits{MaxOutputBytes: 100}, manifest.ErrLimit},
		{"file bytes", Limits{MaxFileBytes: 100}, confine.ErrTooLarge},
		{"read bytes", Limits{MaxReadBytes: 1000}, confine.ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, in := range []Input{badInput("plain/app"), badInput("kustomize/overlays/staging"), helmInput("values-staging.yaml")} {
				in.Namespace = "shop-plain"
				_, err := New(WithLimits(c.limits)).Render(context.Background(), in)
				if !errors.Is(err, c.want) {
					t.Errorf("%s: err = %v, want %v", in.Path, err, c.want)
				}
			}
		})
	}
}
