package chart_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/landfall-dev/landfall/sync/source"
	"github.com/landfall-dev/landfall/sync/source/chart"
	"github.com/landfall-dev/landfall/test/registry"
	"github.com/landfall-dev/landfall/test/testca"
)

func ociSpec(reg *registry.Registry, name, version string) chart.Spec {
	return chart.Spec{URL: "oci://" + reg.Host + "/charts", Chart: name, Version: version,
		Auth: source.Auth{Username: reg.Username, Password: reg.Password, CAData: reg.CA.PEM}}
}

func TestRegistryRangeAndDependency(t *testing.T) {
	reg := registry.Start(t, testca.New(t))
	src, out := t.TempDir(), t.TempDir()
	lib := filepath.Join(out, "lib-1.0.0.tgz")
	writeFile(t, lib, packNoVendor(t, writeChart(t, src, "lib", "1.0.0", "lib-config", "")))
	reg.PushChart(t, lib, "charts")
	app1 := filepath.Join(out, "app-1.0.0.tgz")
	writeFile(t, app1, packNoVendor(t, writeChart(t, src, "app", "1.0.0", "app-one", "")))
	reg.PushChart(t, app1, "charts")
	app2 := filepath.Join(out, "app-1.2.0.tgz")
	writeFile(t, app2, packNoVendor(t, writeChart(t, src, "app", "1.2.0", "app-two", "oci://"+reg.Host+"/charts")))
	reg.PushChart(t, app2, "charts")

	c := newClient(t)
	co, err := c.Checkout(context.Background(), ociSpec(reg, "app", "^1.0.0"), source.Revision{})
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	if co.Revision.Ref != "1.2.0" || co.Revision.Digest != digestOfFile(t, app2) {
		t.Fatalf("revision %s, want 1.2.0@%s (the archive's digest)", co.Revision, digestOfFile(t, app2))
	}
	if got := strings.Join(renderChart(t, co), ","); got != "ConfigMap/app-two,ConfigMap/lib-config" {
		t.Fatalf("rendered %s", got)
	}

	spec := ociSpec(reg, "app", "1.0.0")
	spec.Auth.Password = "wrong"
	if _, err := newClient(t).Checkout(context.Background(), spec, source.Revision{}); !errors.Is(err, source.ErrAuthentication) {
		t.Fatalf("wrong password: %v", err)
	}
}

// TestRegistryHugeLayer: a manifest whose chart layer says 2 GiB is refused from the
// manifest, before any byte of the layer is asked for.
func TestRegistryHugeLayer(t *testing.T) {
	reg := registry.Start(t, testca.New(t))
	reg.PushHugeChart(t, "charts/huge", "1.0.0")
	_, err := newClient(t).Checkout(context.Background(), ociSpec(reg, "huge", "1.0.0"), source.Revision{})
	if !errors.Is(err, source.ErrTooLarge) || !strings.Contains(err.Error(), "2147483648 bytes") {
		t.Fatalf("2 GiB layer: %v", err)
	}
}

func writeFile(t testing.TB, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func digestOfFile(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return digest.FromBytes(data).String()
}
