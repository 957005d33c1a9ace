package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/opencontainers/go-digest"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/sync/source/chart"
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

// artifactSource creates, in a new namespace, a Repository "web" of the artifact at url
// taking tags >=1.0.0, polling once an hour (a new tag comes by the signed webhook), with
// its credentials and webhook Secrets.
func artifactSource(tb testing.TB, e *env, reg *registry.Registry, url string) *fixture {
	tb.Helper()
	ctx := context.Background()
	ns := createNamespace(tb, e)
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "registry", Namespace: ns},
			Data: map[string][]byte{"username": []byte(reg.Username), "password": []byte(reg.Password), "caFile": reg.CA.PEM}},
		{ObjectMeta: metav1.ObjectMeta{Name: "hook", Namespace: ns}, StringData: map[string]string{"token": hookToken}},
	} {
		must(tb, e.k8s.Create(ctx, s))
	}
	repo := &landfallv1.Repository{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: landfallv1.RepositorySpec{URL: url, Ref: landfallv1.GitRef{SemVer: ">=1.0.0"},
			Interval:         &metav1.Duration{Duration: time.Hour},
			SecretRef:        &landfallv1.LocalObjectReference{Name: "registry"},
			WebhookSecretRef: &landfallv1.LocalObjectReference{Name: "hook"}},
	}
	must(tb, e.k8s.Create(ctx, repo))
	return &fixture{e: e, ns: ns, repo: repo}
}

// deployedArtifact is the web app pushed as tag 1.0.0 of an artifact with `landfall push
// artifact` and deployed from it to staging.
type deployedArtifact struct {
	e        *env
	reg      *registry.Registry
	f        *fixture
	app      *landfallv1.Application
	src, url string
	target   string // the staging namespace
	first    string // 1.0.0's revision
}

func deployArtifact(t *testing.T) *deployedArtifact {
	t.Helper()
	d := &deployedArtifact{e: shared(t), reg: registry.Start(t, testca.New(t)), src: t.TempDir()}
	write(t, webApp("", image("v1"), 1))(d.src)
	d.url = "oci://" + d.reg.Host + "/config/web"
	d.first = "1.0.0@" + pushArtifact(t, d.reg, d.src, d.url+":1.0.0")
	d.f = artifactSource(t, d.e, d.reg, d.url)
	d.target = d.f.ns + "-staging"
	d.app = d.f.application(t, "web", "", []landfallv1.Environment{{Name: "staging", Namespace: d.target}}, nil)
	waitCompleted(t, d.f, d.app, d.first, rolloutTimeout, "staging")
	g := NewWithT(t)
	g.Expect(imageOf(deployment(g, d.e.k8s, d.target, "web"))).To(Equal(image("v1")))
	return d
}

// TestArtifactPushedAndDeployed: a folder of manifests pushed with `landfall push artifact`
// is deployed from the registry; a new tag matching the Repository's range, announced by a
// signed webhook (the Repository polls once an hour), is applied.
func TestArtifactPushedAndDeployed(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	d := deployArtifact(t)
	write(t, webApp("", image("v2"), 1))(d.src)
	d2 := pushArtifact(t, d.reg, d.src, d.url+":1.1.0")
	g.Expect("1.1.0@" + d2).NotTo(Equal(d.first))
	d.f.webhook(t)
	waitCompleted(t, d.f, d.app, "1.1.0@"+d2, rolloutTimeout, "staging")
	g.Expect(imageOf(deployment(g, d.e.k8s, d.target, "web"))).To(Equal(image("v2")))
}

// TestArtifactBadInput: each new tag of an artifact that Landfall refuses — a layer over
// 64 MiB, one that expands past 256 MiB, one of more than 50,000 entries, one whose bytes
// in the registry do not hash to the manifest's digest — is named in the Repository's Ready
// condition and a Warning Event; nothing of it is applied and the last good tag keeps
// running.
func TestArtifactBadInput(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	d := deployArtifact(t)
	reg, f := d.reg, d.f
	// Each bad tag is higher than the last, so the range picks it.
	evil := map[string]string{"deployment.yaml": strings.ReplaceAll(webApp("", image("evil"), 1)["/deployment.yaml"], "name: web\n", "name: evil\n")}
	for _, c := range []struct {
		tag, reason, message string
		push                 func(tag string)
	}{
		{"1.1.0", landfallv1.ReasonLimitExceeded, "over 67108864 (MaxArtifactBytes)", func(tag string) {
			reg.PushHugeArtifact(t, "config/web", tag, chart.MaxArtifactBytes+1)
		}},
		{"1.2.0", landfallv1.ReasonLimitExceeded, "expands past 268435456 bytes (MaxArtifactExpandedBytes)", func(tag string) {
			reg.PushArtifactLayer(t, "config/web", tag, registry.ZerosLayer(t, chart.MaxArtifactExpandedBytes+1))
		}},
		{"1.3.0", landfallv1.ReasonLimitExceeded, "more than 50000 entries (MaxArtifactFiles)", func(tag string) {
			reg.PushArtifactLayer(t, "config/web", tag, registry.ManyFilesLayer(t, chart.MaxArtifactFiles+1))
		}},
		{"1.4.0", landfallv1.ReasonChartRefused, "digest mismatch", func(tag string) {
			layer := registry.Layer(t, evil)
			reg.PushArtifactLayer(t, "config/web", tag, layer)
			reg.CorruptBlob(t, digest.FromBytes(layer).String())
		}},
	} {
		c.push(c.tag)
		f.webhook(t)
		expectChartRefused(t, f, c.reason, c.message)
		got := f.get(g, d.app)
		g.Expect(envStatus(g, got, "staging").Revision).To(Equal(d.first), "%s: the last good tag keeps running", c.tag)
		g.Expect(imageOf(deployment(g, d.e.k8s, d.target, "web"))).To(Equal(image("v1")), c.tag)
		deps := &appsv1.DeploymentList{}
		g.Expect(d.e.k8s.List(ctx, deps, client.InNamespace(d.target))).To(Succeed())
		g.Expect(deps.Items).To(HaveLen(1), "%s: nothing of it applied", c.tag)
	}
}
