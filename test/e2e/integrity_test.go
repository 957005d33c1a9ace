package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

const (
	integrityConfig = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  source: git
`
	tamperedConfig = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  source: tampered
`
	plantedConfig = `apiVersion: v1
kind: ConfigMap
metadata:
  name: planted
data:
  source: planted
`
)

// TestTamperedCacheIsNeverApplied edits a file and plants another in the controller's
// checkout cache, then (a) adds an environment that deploys the same commit and (b)
// restarts the controller with the cache kept. Each time the tampered checkout is refused
// with a Warning Event, fetched again, and only Git's content reaches the cluster. It has a
// cluster of its own: it restarts the controller.
func TestTamperedCacheIsNeverApplied(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	e := newEnv(t, "integrity")
	f := newFixture(t, e, map[string]string{"apps/settings/settings.yaml": integrityConfig})
	commit := f.srv.Head(t, "refs/heads/main")
	one, two := f.ns+"-one", f.ns+"-two"
	var logs []*objectLog[*corev1.ConfigMap]
	for _, ns := range []string{one, two} {
		for _, name := range []string{"settings", "planted"} {
			logs = append(logs, watchObject[*corev1.ConfigMap](t, e, &corev1.ConfigMapList{}, ns, name))
		}
	}
	app := f.application(t, "settings", "apps/settings", []landfallv1.Environment{{Name: "one", Namespace: one}}, nil)
	g.Eventually(func(g Gomega) { expectSynced(g, f.get(g, app), commit) }, timeout, poll).Should(Succeed())
	cacheDir := filepath.Join(e.dir, "controller", "cache")

	// (a) A new environment on the same commit renders the checkout afresh.
	tamperCheckout(t, cacheDir, commit)
	f.updateSpec(g, app, func(s *landfallv1.ApplicationSpec) {
		s.Environments = append(s.Environments, landfallv1.Environment{Name: "two", Namespace: two})
	})
	expectRefused(g, f, app, 1)
	g.Eventually(func(g Gomega) { expectSynced(g, f.get(g, app), commit) }, timeout, poll).Should(Succeed())
	expectGitContent(g, e, one, two)

	// (b) A restarted controller re-indexes the kept cache: the first lease verifies it.
	tamperCheckout(t, cacheDir, commit)
	e.ctrl.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := startController(ctx, filepath.Join(e.dir, "controller-restarted"), filepath.Join(e.dir, "controller.kubeconfig"),
		"--cache-dir", cacheDir)
	must(t, err)
	e.ctrl = c
	e.dumpOnFailure(t)
	expectRefused(g, f, app, 2)
	g.Eventually(func(g Gomega) { expectSynced(g, f.get(g, app), commit) }, timeout, poll).Should(Succeed())
	g.Eventually(func(g Gomega) float64 {
		v, err := e.ctrl.metric("landfall_checkout_verification_failures_total", `kind="Application"`)
		g.Expect(err).NotTo(HaveOccurred())
		return v
	}, timeout, poll).Should(BeNumerically(">=", 1), "the restarted controller counts the refused checkout")
	expectGitContent(g, e, one, two)
	for _, l := range logs {
		for _, s := range l.since(0) {
			g.Expect(s.obj.GetName()).To(Equal("settings"), "the planted file was applied")
			g.Expect(s.obj.Data["source"]).To(Equal("git"), "the tampered file was applied to %s", s.obj.Namespace)
		}
	}
}

// tamperCheckout edits the commit's cached manifest and plants another beside it.
func tamperCheckout(tb testing.TB, cacheDir, commit string) {
	tb.Helper()
	found, err := filepath.Glob(filepath.Join(cacheDir, "git", "*", commit))
	must(tb, err)
	if len(found) != 1 {
		tb.Fatalf("checkouts of %s in %s: %v", commit, cacheDir, found)
	}
	dir := filepath.Join(found[0], "apps", "settings")
	must(tb, os.WriteFile(filepath.Join(dir, "settings.yaml"), []byte(tamperedConfig), 0o644))
	must(tb, os.WriteFile(filepath.Join(dir, "planted.yaml"), []byte(plantedConfig), 0o644))
}

// expectRefused waits for the n-th Warning Event saying the cached checkout was refused.
func expectRefused(g *WithT, f *fixture, app *landfallv1.Application, n int) {
	g.Eventually(func(g Gomega) []string {
		return eventMessages(g, f.e.k8s, app, landfallv1.EventCheckoutVerificationFailed)
	}, timeout, poll).Should(And(HaveLen(n), ContainElement(And(
		ContainSubstring("apps/settings/"), ContainSubstring("fetched again")))))
}

// expectGitContent checks that every environment has Git's ConfigMap and not the planted one.
func expectGitContent(g *WithT, e *env, namespaces ...string) {
	for _, ns := range namespaces {
		cm := &corev1.ConfigMap{}
		g.Expect(e.k8s.Get(context.Background(), key(ns, "settings"), cm)).To(Succeed())
		g.Expect(cm.Data["source"]).To(Equal("git"), "settings in %s", ns)
		err := e.k8s.Get(context.Background(), key(ns, "planted"), &corev1.ConfigMap{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "planted in %s: %v", ns, err)
	}
}
