package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/landfall-dev/landfall/render"
	"github.com/landfall-dev/landfall/render/confine"
)

func execRender(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRenderCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestRenderCommandMatchesTheEngine(t *testing.T) {
	const chart = "../../render/testdata/repo/helm/shop"
	out, stderr, err := execRender(t, chart, "--name", "shop", "-n", "shop-staging",
		"-f", chart+"/values-staging.yaml", "--set", "config.FEATURE_X=on",
		"--kube-version", "v1.37.0", "--allow-cluster-scoped")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../render/testdata/golden/helm-staging.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("output differs from render/testdata/golden/helm-staging.yaml:\n%s", out)
	}
	if !strings.Contains(stderr, "skipped Helm hook Job/shop-migrate") {
		t.Errorf("stderr does not list the skipped hook: %q", stderr)
	}
}

func TestRenderCommandRefusesEscapes(t *testing.T) {
	_, _, err := execRender(t, "../../render/testdata/repo/helm/shop", "-f", "/etc/hostname", "--allow-cluster-scoped")
	if !errors.Is(err, confine.ErrEscapes) {
		t.Errorf("err = %v, want a values file outside the checkout refused", err)
	}
	_, _, err = execRender(t, "../../render/testdata/repo/bad/cluster-scoped", "-n", "shop")
	if err == nil || !strings.Contains(err.Error(), "ClusterRoleBinding everyone-admin") {
		t.Errorf("err = %v, want the cluster-scoped object refused for an environment", err)
	}
	if code := execute(t.Context(), []string{"render", "../../render/testdata/repo/bad/cluster-scoped", "-n", "shop"}, io.Discard, io.Discard); code != exitError {
		t.Errorf("exit code = %d, want %d for a refused render", code, exitError)
	}
}

// Without --namespace, an overlay that sets its own namespace renders as kustomize build
// prints it; with --namespace, it is checked as the controller checks an environment.
func TestRenderWithoutNamespaceIsKustomizeBuild(t *testing.T) {
	const overlay = "../../render/testdata/repo/kustomize/overlays/production"
	out, stderr, err := execRender(t, overlay)
	if err != nil {
		t.Fatalf("render without --namespace: %v", err)
	}
	if !strings.Contains(out, "namespace: shop-prod") || strings.Contains(out, "namespace: default") {
		t.Errorf("output does not keep the overlay's namespace:\n%s", out)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want no warnings for an overlay with one namespace", stderr)
	}
	if _, _, err := execRender(t, overlay, "--namespace", "shop-prod"); err != nil {
		t.Errorf("render --namespace shop-prod: %v", err)
	}
	_, _, err = execRender(t, overlay, "--namespace", "default")
	if !errors.Is(err, render.ErrNamespaceNotAllowed) {
		t.Errorf("render --namespace default: err = %v, want namespace not allowed", err)
	}

	// Plain manifests without a namespace stay without one, as kubectl apply -f would see them.
	out, _, err = execRender(t, "../../render/testdata/repo/plain/app")
	if err != nil || strings.Contains(out, "namespace:") {
		t.Errorf("plain render without --namespace: err %v, output:\n%s", err, out)
	}

	out, stderr, err = execRender(t, "../../render/testdata/repo/bad/cluster-scoped")
	if err != nil || !strings.Contains(out, "kind: ClusterRoleBinding") {
		t.Errorf("cluster-scoped render without --namespace: err %v, output:\n%s", err, out)
	}
	if !strings.Contains(stderr, "warning: ClusterRoleBinding everyone-admin") {
		t.Errorf("stderr = %q, want a warning that an environment refuses the ClusterRoleBinding", stderr)
	}
}
