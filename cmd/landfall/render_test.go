package main

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

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
	_, _, err = execRender(t, "../../render/testdata/repo/bad/cluster-scoped")
	if err == nil || !strings.Contains(err.Error(), "ClusterRoleBinding everyone-admin") {
		t.Errorf("err = %v, want the cluster-scoped object refused by default", err)
	}
}
