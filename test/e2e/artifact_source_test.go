package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/registry"
	"github.com/landfall-dev/landfall/test/testca"
)

var pushedDigest = regexp.MustCompile(`@(sha256:[0-9a-f]{64}) `)

// pushArtifact runs `landfall push artifact` as CI would, and returns the manifest digest it
// printed.
func pushArtifact(t *testing.T, reg *registry.Registry, dir, ref string) string {
	t.Helper()
	bin, err := landfallBinary()
	must(t, err)
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	must(t, os.WriteFile(caFile, reg.CA.PEM, 0o600))
	cmd := exec.Command(bin, "push", "artifact", dir, ref, "--username", reg.Username, "--ca-file", caFile)
	cmd.Env = append(os.Environ(), "LANDFALL_REGISTRY_PASSWORD="+reg.Password)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("landfall push artifact: %v\n%s", err, out)
	}
	m := pushedDigest.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("landfall push artifact printed no digest: %s", out)
	}
	return m[1]
}

// TestArtifactPushedAndDeployed: a folder of manifests pushed with `landfall push artifact`
// is deployed from the registry; a new tag matching the Repository's range, announced by a
// signed webhook (the Repository polls once an hour), is applied.
func TestArtifactPushedAndDeployed(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	e := shared(t)
	reg := registry.Start(t, testca.New(t))
	src := t.TempDir()
	write(t, webApp("", image("v1"), 1))(src)
	url := "oci://" + reg.Host + "/config/web"
	d1 := pushArtifact(t, reg, src, url+":1.0.0")

	ns := createNamespace(t, e)
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "registry", Namespace: ns},
			Data: map[string][]byte{"username": []byte(reg.Username), "password": []byte(reg.Password), "caFile": reg.CA.PEM}},
		{ObjectMeta: metav1.ObjectMeta{Name: "hook", Namespace: ns}, StringData: map[string]string{"token": hookToken}},
	} {
		must(t, e.k8s.Create(ctx, s))
	}
	repo := &landfallv1.Repository{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: landfallv1.RepositorySpec{URL: url, Ref: landfallv1.GitRef{SemVer: ">=1.0.0"},
			Interval:         &metav1.Duration{Duration: time.Hour},
			SecretRef:        &landfallv1.LocalObjectReference{Name: "registry"},
			WebhookSecretRef: &landfallv1.LocalObjectReference{Name: "hook"}},
	}
	must(t, e.k8s.Create(ctx, repo))
	f := &fixture{e: e, ns: ns, repo: repo}
	target := ns + "-staging"
	app := f.application(t, "web", "", []landfallv1.Environment{{Name: "staging", Namespace: target}}, nil)
	waitCompleted(t, f, app, "1.0.0@"+d1, rolloutTimeout, "staging")
	g.Expect(imageOf(deployment(g, e.k8s, target, "web"))).To(Equal(image("v1")))

	write(t, webApp("", image("v2"), 1))(src)
	d2 := pushArtifact(t, reg, src, url+":1.1.0")
	g.Expect(d2).NotTo(Equal(d1))
	f.webhook(t)
	waitCompleted(t, f, app, "1.1.0@"+d2, rolloutTimeout, "staging")
	g.Expect(imageOf(deployment(g, e.k8s, target, "web"))).To(Equal(image("v2")))
}
