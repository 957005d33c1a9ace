package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"helm.sh/helm/v3/pkg/repo"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/helmrepo"
	"github.com/landfall-dev/landfall/test/registry"
	"github.com/landfall-dev/landfall/test/testca"
)

// chartPoll is how often the chart Repositories of these tests poll: charts have no push
// webhook, so a new version arrives by polling.
const chartPoll = 2 * time.Second

// chartSources is a Helm repository and an OCI registry serving the same third-party-style
// chart "shop", which vendors its dependency "common".
type chartSources struct {
	repo *helmrepo.Repo
	reg  *registry.Registry
	src  string
}

func newChartSources(t *testing.T) *chartSources {
	t.Helper()
	ca := testca.New(t)
	s := &chartSources{repo: helmrepo.Serve(t, ca), reg: registry.Start(t, ca), src: t.TempDir()}
	write(t, map[string]string{
		"common/Chart.yaml":        "apiVersion: v2\nname: common\nversion: 1.0.0\n",
		"common/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-common\ndata:\n  from: common\n",
	})(s.src)
	return s
}

// publish packages shop at version running image (with common vendored, as `helm package`
// wants), indexes it in the Helm repository and pushes it to the registry, and returns its
// archive.
func (s *chartSources) publish(t *testing.T, version, image string) string {
	t.Helper()
	tgz := s.build(t, version, image)
	s.repo.Index(t)
	return tgz
}

// build packages version of the shop chart into the Helm repository without indexing it,
// and pushes it to the registry; it returns the archive's path.
func (s *chartSources) build(t *testing.T, version, image string) string {
	t.Helper()
	dir := filepath.Join(s.src, "shop-"+version)
	write(t, map[string]string{
		"Chart.yaml": fmt.Sprintf("apiVersion: v2\nname: shop\nversion: %s\ndependencies:\n- name: common\n  version: 1.0.0\n  repository: %s\n",
			version, s.repo.URL),
		"values.yaml": "image: " + image + "\n",
		"templates/deployment.yaml": strings.ReplaceAll(webApp("x", "{{ .Values.image }}", 1)["x/deployment.yaml"],
			"name: web\n", "name: {{ .Release.Name }}\n"),
	})(dir)
	common := s.repo.Package(t, filepath.Join(s.src, "common"))
	must(t, os.MkdirAll(filepath.Join(dir, "charts"), 0o755))
	data, err := os.ReadFile(common)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "charts", "common-1.0.0.tgz"), data, 0o644))
	tgz := s.repo.Package(t, dir)
	s.reg.PushChart(t, tgz, "charts")
	return tgz
}

// chartRepository creates a chart Repository named name with its credentials Secret.
func chartRepository(t *testing.T, e *env, ns, name, url, chart, semver, user, password string, ca []byte) *fixture {
	t.Helper()
	ctx := context.Background()
	must(t, e.k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name + "-auth", Namespace: ns},
		Data: map[string][]byte{"username": []byte(user), "password": []byte(password), "caFile": ca}}))
	repo := &landfallv1.Repository{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: landfallv1.RepositorySpec{URL: url, Chart: chart, Ref: landfallv1.GitRef{SemVer: semver},
			Interval: &metav1.Duration{Duration: chartPoll}, SecretRef: &landfallv1.LocalObjectReference{Name: name + "-auth"}},
	}
	must(t, e.k8s.Create(ctx, repo))
	return &fixture{e: e, ns: ns, repo: repo}
}

func (s *chartSources) fromRepo(t *testing.T, e *env, ns, name string) *fixture {
	return chartRepository(t, e, ns, name, s.repo.URL, "shop", ">=1.0.0 <2.0.0", s.repo.Username, s.repo.Password, s.repo.CA.PEM)
}

func (s *chartSources) fromRegistry(t *testing.T, e *env, ns, name string) *fixture {
	return chartRepository(t, e, ns, name, "oci://"+s.reg.Host+"/charts", "shop", ">=1.0.0 <2.0.0",
		s.reg.Username, s.reg.Password, s.reg.CA.PEM)
}

// chartRevision is how status names a chart version: its version and archive digest.
func chartRevision(t *testing.T, version, tgz string) string {
	t.Helper()
	return version + "@" + digestOf(t, tgz)
}

// TestChartFromHelmRepositoryAndRegistry: the same chart, with a vendored dependency, is
// deployed by two Applications to staging and production, one from the Helm repository
// and one from the registry; a new version matching the range is promoted staging →
// production like a commit; a version whose image never turns Ready is rolled back in
// staging and never reaches production.
func TestChartFromHelmRepositoryAndRegistry(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	e := shared(t)
	s := newChartSources(t)
	v1 := chartRevision(t, "1.0.0", s.publish(t, "1.0.0", image("v1")))
	ns := createNamespace(t, e)
	sources := map[string]*fixture{"repo": s.fromRepo(t, e, ns, "charts"), "oci": s.fromRegistry(t, e, ns, "registry")}
	apps := map[string]*landfallv1.Application{}
	for name, f := range sources {
		apps[name] = f.application(t, "shop-"+name, "", []landfallv1.Environment{
			{Name: "staging", Namespace: ns + "-" + name + "-staging", BakeTime: &metav1.Duration{Duration: stagingBake}},
			{Name: "production", Namespace: ns + "-" + name + "-prod"},
		}, func(spec *landfallv1.ApplicationSpec) {
			spec.Rollout = &landfallv1.RolloutSpec{Strategy: landfallv1.RolloutRolling, HealthTimeout: &metav1.Duration{Duration: healthTimeout}}
		})
	}
	for name, f := range sources {
		waitCompleted(t, f, apps[name], v1, rolloutTimeout, "staging", "production")
		for _, env := range []string{"staging", "production"} {
			target := ns + "-" + name + "-" + map[string]string{"staging": "staging", "production": "prod"}[env]
			g.Expect(imageOf(deployment(g, e.k8s, target, "shop-"+name))).To(Equal(image("v1")))
			g.Expect(configData(g, e.k8s, target, "shop-"+name+"-common")).To(HaveKeyWithValue("from", "common"), "the dependency's object")
		}
	}

	v2 := chartRevision(t, "1.1.0", s.publish(t, "1.1.0", image("v2")))
	for name, f := range sources {
		expectPromotedAfterBake(t, f, apps[name], v2)
		g.Expect(imageOf(deployment(g, e.k8s, ns+"-"+name+"-prod", "shop-"+name))).To(Equal(image("v2")))
	}

	bad := chartRevision(t, "1.2.0", s.publish(t, "1.2.0", image("bad")))
	for name, f := range sources {
		expectRolledBack(t, f, apps[name], "staging", bad, v2, "Degraded", "progress deadline exceeded")
		prod := envStatus(g, f.get(g, apps[name]), "production")
		g.Expect(prod.Revision).To(Equal(v2), "production stays on 1.1.0")
		g.Expect(imageOf(deployment(g, e.k8s, ns+"-"+name+"-prod", "shop-"+name))).To(Equal(image("v2")))
	}
}

// TestChartSourceBadInput: what a chart repository or registry serves that Landfall
// refuses is named in the Repository's Ready condition and a Warning Event; nothing is
// applied, and the version deployed before keeps running.
func TestChartSourceBadInput(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	e := shared(t)
	s := newChartSources(t)
	v1 := chartRevision(t, "1.0.0", s.publish(t, "1.0.0", image("v1")))
	ns := createNamespace(t, e)
	f := s.fromRepo(t, e, ns, "charts")
	app := f.application(t, "shop", "", []landfallv1.Environment{{Name: "staging", Namespace: ns + "-staging"}}, nil)
	waitCompleted(t, f, app, v1, rolloutTimeout, "staging")

	// 1.1.0 is published with another archive's digest in its index entry (the index is
	// served only once tampered: a poll in between would take the good 1.1.0).
	s.build(t, "1.1.0", image("v2"))
	data := s.repo.IndexWith(t, func(index []byte) []byte {
		return withDigest(t, index, "shop", "1.1.0", strings.Repeat("0", 64))
	})
	expectChartRefused(t, f, landfallv1.ReasonChartRefused, "digest mismatch")
	got := f.get(g, app)
	g.Expect(envStatus(g, got, "staging").Revision).To(Equal(v1), "the last good version keeps running")
	g.Expect(imageOf(deployment(g, e.k8s, ns+"-staging", "shop"))).To(Equal(image("v1")))

	// Each further refusal is a Repository of its own, whose Application applies nothing.
	cases := []struct {
		name, reason, message string
		prepare               func() *fixture
	}{
		{"other-host", landfallv1.ReasonChartRefused, "points to another host", func() *fixture {
			r := helmrepo.Serve(t, s.repo.CA)
			r.Write(t, "index.yaml", []byte(strings.ReplaceAll(string(data), "- shop-", "- https://127.0.0.2:1/shop-")))
			return chartRepository(t, e, ns, "other-host", r.URL, "shop", "*", r.Username, r.Password, r.CA.PEM)
		}},
		{"bomb", landfallv1.ReasonLimitExceeded, "MaxArchiveBytes", func() *fixture {
			r := helmrepo.Serve(t, s.repo.CA)
			r.Write(t, "shop-1.0.0.tgz", helmrepo.ArchiveBomb(t, "shop"))
			r.Index(t)
			return chartRepository(t, e, ns, "bomb", r.URL, "shop", "*", r.Username, r.Password, r.CA.PEM)
		}},
		{"huge-layer", landfallv1.ReasonLimitExceeded, "2147483648 bytes", func() *fixture {
			s.reg.PushHugeChart(t, "huge/shop", "1.0.0")
			return chartRepository(t, e, ns, "huge-layer", "oci://"+s.reg.Host+"/huge", "shop", "*", s.reg.Username, s.reg.Password, s.reg.CA.PEM)
		}},
	}
	for _, c := range cases {
		f := c.prepare()
		target := ns + "-" + c.name
		a := f.application(t, c.name, "", []landfallv1.Environment{{Name: "staging", Namespace: target}}, nil)
		expectChartRefused(t, f, c.reason, c.message)
		for _, st := range f.get(g, a).Status.Environments {
			g.Expect(st.Revision).To(BeEmpty(), "%s: nothing applied", c.name)
		}
		cms := &corev1.ConfigMapList{}
		g.Expect(e.k8s.List(ctx, cms, client.InNamespace(target))).To(Succeed())
		for _, cm := range cms.Items {
			g.Expect(cm.Name).To(Equal("kube-root-ca.crt"), "%s: nothing applied", c.name)
		}
	}
}

// expectChartRefused waits until the Repository is not Ready for reason with message, with a
// Warning Event saying the same.
func expectChartRefused(t *testing.T, f *fixture, reason, message string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		repo := &landfallv1.Repository{}
		g.Expect(f.e.k8s.Get(context.Background(), client.ObjectKeyFromObject(f.repo), repo)).To(Succeed())
		c := apimeta.FindStatusCondition(repo.Status.Conditions, landfallv1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(reason), "%s", c.Message)
		g.Expect(c.Message).To(ContainSubstring(message))
		events := &corev1.EventList{}
		g.Expect(f.e.k8s.List(context.Background(), events, client.InNamespace(f.ns))).To(Succeed())
		var msgs []string
		for _, ev := range events.Items {
			if ev.InvolvedObject.Kind == "Repository" && ev.InvolvedObject.Name == f.repo.Name && ev.Reason == reason {
				msgs = append(msgs, ev.Message)
			}
		}
		g.Expect(msgs).To(ContainElement(ContainSubstring(message)))
	}, rolloutTimeout, poll).Should(Succeed())
}

// withDigest gives one version of an index another digest.
func withDigest(t *testing.T, index []byte, chart, version, digest string) []byte {
	t.Helper()
	idx := &repo.IndexFile{}
	must(t, yaml.Unmarshal(index, idx))
	for _, cv := range idx.Entries[chart] {
		if cv.Version == version {
			cv.Digest = digest
		}
	}
	out, err := yaml.Marshal(idx)
	must(t, err)
	return out
}

// digestOf is "sha256:<hex>" of a file's bytes.
func digestOf(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	must(t, err)
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}
