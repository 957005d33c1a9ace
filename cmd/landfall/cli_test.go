package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

const cliSecret = `apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: s3cret-value-in-git}
`

const cliConfigMap = `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: blue}
`

// TestCLIAgainstController drives status, sync and diff against a real apiserver with the
// controllers running, and checks diff never shows a Secret value.
func TestCLIAgainstController(t *testing.T) {
	g := NewWithT(t)
	f := controlPlane(t)
	ctx, c, kubeconfig := f.ctx, f.client, f.kubeconfig

	srv := gitserver.New(t, gitserver.Options{})
	srv.Commit(t, "main", map[string]string{"app/secret.yaml": cliSecret, "app/cm.yaml": cliConfigMap})
	createApp(g, c, srv, "default", "shop-staging")

	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		root := newRootCmd()
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(append(args, "--kubeconfig", kubeconfig, "-n", "default"))
		err := root.ExecuteContext(ctx)
		return out.String(), err
	}
	g.Eventually(func() string { out, _ := run("status"); return out }, 30*time.Second, 200*time.Millisecond).
		Should(MatchRegexp(`default\s+shop\s+staging\s+main@sha1:\w{7}\s+Synced`))

	out, err := run("sync", "shop", "--timeout", "30s")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("sync of default/shop requested"))
	g.Expect(out).To(ContainSubstring("Synced"))

	out, err = run("diff", "shop")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("no differences"))

	// Change both objects by hand (self-heal is off): diff shows the ConfigMap change and
	// says the Secret changed without showing either value.
	cm := &corev1.ConfigMap{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "shop-staging", Name: "settings"}, cm)).To(Succeed())
	cm.Data["mode"] = "green"
	g.Expect(c.Update(ctx, cm)).To(Succeed())
	sec := &corev1.Secret{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "shop-staging", Name: "creds"}, sec)).To(Succeed())
	sec.Data["password"] = []byte("changed-by-hand-value")
	g.Expect(c.Update(ctx, sec)).To(Succeed())
	out, err = run("diff", "shop", "--env", "staging", "--exit-code")
	g.Expect(err).To(MatchError(errDiffering))
	g.Expect(exitCode(err)).To(Equal(exitFindings), "differences exit 1, as git diff --exit-code")
	g.Expect(out).To(ContainSubstring("-  mode: green"))
	g.Expect(out).To(ContainSubstring("+  mode: blue"))
	g.Expect(out).To(ContainSubstring("=== staging Secret/shop-staging/creds (Configured)"))
	g.Expect(out).To(ContainSubstring("*** (changed)"))
	g.Expect(out).NotTo(Or(ContainSubstring("s3cret-value-in-git"), ContainSubstring("changed-by-hand-value")))
	g.Expect(strings.Contains(out, "czNjcmV0")).To(BeFalse(), "no base64 of the secret either")

	out, err = run("suspend", "shop")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("default/shop suspended"))
	app := &landfallv1.Application{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "shop"}, app)).To(Succeed())
	g.Expect(app.Spec.Suspend).To(BeTrue())

	out, err = run("resume", "shop")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(Equal("default/shop resumed\n"))
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "shop"}, app)).To(Succeed())
	g.Expect(app.Spec.Suspend).To(BeFalse())
}

// createApp creates a Repository and an Application with one environment, staging, that
// deploys to target; change adjusts the Application before it is created.
func createApp(g *WithT, c client.Client, srv *gitserver.Server, ns, target string, change ...func(*landfallv1.Application)) {
	ctx := context.Background()
	if ns != "default" {
		g.Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	}
	g.Expect(c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "git", Namespace: ns},
		StringData: map[string]string{"username": srv.Username, "password": srv.Password}})).To(Succeed())
	g.Expect(c.Create(ctx, &landfallv1.Repository{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Spec: landfallv1.RepositorySpec{URL: srv.URL, Ref: landfallv1.GitRef{Branch: "main"}, Insecure: true,
			SecretRef: &landfallv1.LocalObjectReference{Name: "git"}},
	})).To(Succeed())
	app := &landfallv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Spec: landfallv1.ApplicationSpec{RepositoryRef: landfallv1.LocalObjectReference{Name: "shop"}, Path: "app",
			Environments: []landfallv1.Environment{{Name: "staging", Namespace: target}}, Prune: true},
	}
	for _, ch := range change {
		ch(app)
	}
	g.Expect(c.Create(ctx, app)).To(Succeed())
}
