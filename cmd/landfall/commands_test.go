package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/landfall-dev/landfall/operate"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/landfall-dev/landfall/test/gitserver"
)

// cli runs one landfall command line against the fixture's apiserver, as a user would.
type cli struct {
	t          *testing.T
	kubeconfig string
	namespace  string
}

func (c cli) run(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	args = append(args, "--kubeconfig", c.kubeconfig, "-n", c.namespace)
	code = execute(c.t.Context(), args, &out, &errOut)
	return out.String(), errOut.String(), code
}

// ok runs a command that must succeed and returns its standard output.
func (c cli) ok(g Gomega, args ...string) string {
	out, stderr, code := c.run(args...)
	g.Expect(code).To(Equal(exitOK), "landfall %s: %s", strings.Join(args, " "), stderr)
	return out
}

// TestCommandsAgainstAPIServer drives get, reconcile, events, history, tree, status and
// completion against a real apiserver with the controllers running, in every output format,
// and checks their exit codes.
func TestCommandsAgainstAPIServer(t *testing.T) {
	g := NewWithT(t)
	f := controlPlane(t)
	srv := gitserver.New(t, gitserver.Options{})
	srv.Commit(t, "main", map[string]string{"app/secret.yaml": cliSecret, "app/cm.yaml": cliConfigMap})
	createApp(g, f.client, srv, "tools", "tools-staging")
	lf := cli{t: t, kubeconfig: f.kubeconfig, namespace: "tools"}
	g.Eventually(func() string { out, _, _ := lf.run("status"); return out }, 60*time.Second, 250*time.Millisecond).
		Should(MatchRegexp(`tools\s+shop\s+staging\s+main@sha1:\w{7}\s+Synced\s+Healthy\s+True`))

	t.Run("get", func(t *testing.T) { testGet(NewWithT(t), lf) })
	t.Run("reconcile", func(t *testing.T) { testReconcile(NewWithT(t), lf) })
	t.Run("events", func(t *testing.T) { testEvents(NewWithT(t), lf, f) })
	t.Run("history", func(t *testing.T) { testHistory(NewWithT(t), lf) })
	t.Run("tree", func(t *testing.T) { testTree(NewWithT(t), lf) })
	t.Run("status", func(t *testing.T) { testStatusOutput(NewWithT(t), lf) })
	t.Run("output formats", func(t *testing.T) { testOutputFormats(t, lf) })
	t.Run("completion", func(t *testing.T) { testCompletion(NewWithT(t), lf) })
	t.Run("rollback", func(t *testing.T) { testRollbackWaits(NewWithT(t), lf) })
}

func testGet(g Gomega, lf cli) {
	out := lf.ok(g, "get", "applications")
	g.Expect(out).To(MatchRegexp(`^NAME\s+READY\s+REVISION\s+SYNC\s+HEALTH\s+AGE\n`))
	g.Expect(out).To(MatchRegexp(`\nshop\s+True\s+main@sha1:\w{40}\s+Synced\s+Healthy\s+\d+s\n`))
	g.Expect(out).NotTo(ContainSubstring("MESSAGE"), "priority columns only with -o wide")
	g.Expect(lf.ok(g, "get", "lfapp", "-o", "wide")).To(MatchRegexp(`^NAME\s+READY\s+REVISION\s+SYNC\s+HEALTH\s+MESSAGE\s+AGE\n`))
	g.Expect(lf.ok(g, "get", "repositories", "-A")).To(MatchRegexp(`NAMESPACE\s+NAME\s+READY\s+REVISION\s+AGE\n(.*\n)*tools\s+shop\s+True\s+main@sha1:`))
	g.Expect(lf.ok(g, "get", "lfrepo", "-o", "wide")).To(ContainSubstring(" URL "))

	g.Expect(lf.ok(g, "get", "applications", "-o", "name")).To(Equal("application.landfall.dev/shop\n"))
	g.Expect(lf.ok(g, "get", "application", "shop", "-o", "yaml")).To(And(
		HavePrefix("apiVersion: landfall.dev/v1alpha1\nkind: Application\n"), ContainSubstring("  name: shop\n"),
		Not(ContainSubstring("managedFields"))))
	var list struct {
		Kind  string `json:"kind"`
		Items []struct {
			Kind string `json:"kind"`
		} `json:"items"`
	}
	g.Expect(json.Unmarshal([]byte(lf.ok(g, "get", "repositories", "-o", "json")), &list)).To(Succeed())
	g.Expect(list.Kind).To(Equal("List"))
	g.Expect(list.Items).To(HaveLen(1))
	g.Expect(list.Items[0].Kind).To(Equal("Repository"))
	g.Expect(lf.ok(g, "get", "application", "shop", "-o", "jsonpath={.status.revision}")).To(MatchRegexp(`^main@sha1:\w{40}$`))

	out, stderr, code := lf.run("get", "previews")
	g.Expect(code).To(Equal(exitOK))
	g.Expect(out).To(BeEmpty())
	g.Expect(stderr).To(ContainSubstring("No resources found"))

	_, stderr, code = lf.run("get", "deployments")
	g.Expect(code).To(Equal(exitError))
	g.Expect(stderr).To(ContainSubstring(`unknown kind "deployments"`))
	_, _, code = lf.run("get", "application", "no-such-app")
	g.Expect(code).To(Equal(exitError))
	_, _, code = lf.run("get", "applications", "-o", "bogus")
	g.Expect(code).To(Equal(exitError))
}

func testReconcile(g Gomega, lf cli) {
	out := lf.ok(g, "reconcile", "repository", "shop", "--timeout", "60s")
	g.Expect(out).To(MatchRegexp(`^Repository tools/shop ready at main@sha1:\w{40}\n$`), "not a terminal: no progress lines")
	g.Expect(lf.ok(g, "reconcile", "repository", "shop", "-o", "jsonpath={.metadata.annotations}")).
		To(ContainSubstring("landfall.dev/reconcile-requested-at"))
	g.Expect(lf.ok(g, "reconcile", "application", "shop", "--timeout", "60s")).To(And(
		ContainSubstring("sync of tools/shop requested"), MatchRegexp(`tools\s+shop\s+staging\s+main@sha1:\w{7}\s+Synced`)))
	g.Expect(lf.ok(g, "reconcile", "repository", "shop", "--timeout", "0")).To(Equal("fetch of tools/shop requested\n"))

	_, stderr, code := lf.run("reconcile", "repository", "no-such-repo")
	g.Expect(code).To(Equal(exitError))
	g.Expect(stderr).To(ContainSubstring("not found"))
	_, _, code = lf.run("reconcile", "widget", "x")
	g.Expect(code).To(Equal(exitError))
}

func testEvents(g Gomega, lf cli, f *cliFixture) {
	// One Event of an applied object, one of an object Landfall does not manage; the
	// controller wrote the Application's own.
	old := metav1.NewTime(time.Now().Add(-time.Hour))
	for _, ev := range []*corev1.Event{
		{ObjectMeta: metav1.ObjectMeta{Name: "settings.1", Namespace: "tools-staging"}, Type: "Normal", Reason: "Touched",
			InvolvedObject: corev1.ObjectReference{Kind: "ConfigMap", Namespace: "tools-staging", Name: "settings"},
			Message:        "an applied object's event", FirstTimestamp: old, LastTimestamp: old},
		{ObjectMeta: metav1.ObjectMeta{Name: "stranger.1", Namespace: "tools-staging"}, Type: "Normal", Reason: "Stranger",
			InvolvedObject: corev1.ObjectReference{Kind: "ConfigMap", Namespace: "tools-staging", Name: "not-landfalls"},
			Message:        "not ours", FirstTimestamp: old, LastTimestamp: old},
	} {
		g.Expect(f.client.Create(f.ctx, ev)).To(Succeed())
	}
	out := lf.ok(g, "events", "shop")
	g.Expect(out).To(MatchRegexp(`^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n`))
	g.Expect(out).To(ContainSubstring("ConfigMap/settings"))
	g.Expect(out).To(MatchRegexp(`Normal\s+Synced\s+Application/shop\s+environment staging at main@sha1:`))
	g.Expect(out).NotTo(ContainSubstring("Stranger"))
	g.Expect(strings.Index(out, "Touched")).To(BeNumerically("<", strings.Index(out, "Synced")), "newest last")

	var list struct {
		Items []corev1.Event `json:"items"`
	}
	g.Expect(json.Unmarshal([]byte(lf.ok(g, "events", "shop", "-o", "json")), &list)).To(Succeed())
	g.Expect(list.Items).NotTo(BeEmpty())
	g.Expect(list.Items[0].Reason).To(Equal("Touched"))
	_, _, code := lf.run("events", "shop", "--env", "no-such-env")
	g.Expect(code).To(Equal(exitError))
}

func testHistory(g Gomega, lf cli) {
	out := lf.ok(g, "history", "shop", "--env", "staging")
	g.Expect(out).To(MatchRegexp(`^ENVIRONMENT\s+REVISION\s+RESULT\s+STARTED\s+DURATION\s+MESSAGE\n`))
	g.Expect(out).To(MatchRegexp(`\nstaging\s+main@sha1:\w{7}\s+Succeeded\s+\S+ ago\s+\S+`))
	g.Expect(lf.ok(g, "history", "shop", "-o", "jsonpath={.items[0].result}")).To(Equal("Succeeded"))
	g.Expect(lf.ok(g, "history", "shop", "-o", "yaml")).To(ContainSubstring("environment: staging"))
	out, stderr, code := lf.run("history", "shop", "--env", "production")
	g.Expect(code).To(Equal(exitOK))
	g.Expect(out).To(BeEmpty())
	g.Expect(stderr).To(ContainSubstring("No history yet"))
}

func testTree(g Gomega, lf cli) {
	out := lf.ok(g, "tree", "shop", "--env", "staging")
	g.Expect(out).To(MatchRegexp(`^Application tools/shop, environment staging at main@sha1:\w{7}: Synced, Healthy\n`))
	g.Expect(out).To(ContainSubstring("├── ConfigMap tools-staging/settings  Healthy"))
	g.Expect(out).To(ContainSubstring("└── Secret tools-staging/creds  Healthy"))
	yaml := lf.ok(g, "tree", "shop", "--env", "staging", "-o", "yaml")
	g.Expect(yaml).To(And(ContainSubstring("kind: List"), ContainSubstring("kind: ConfigMap"), ContainSubstring("kind: Secret")))
	g.Expect(yaml).NotTo(Or(ContainSubstring("s3cret-value-in-git"), ContainSubstring("czNjcmV0")), "Secret data never printed")

	_, stderr, code := lf.run("tree", "shop")
	g.Expect(code).To(Equal(exitError))
	g.Expect(stderr).To(ContainSubstring(`"env" not set`))
	_, _, code = lf.run("tree", "shop", "--env", "no-such-env")
	g.Expect(code).To(Equal(exitError))
}

func testStatusOutput(g Gomega, lf cli) {
	g.Expect(lf.ok(g, "status", "-o", "name")).To(Equal("application.landfall.dev/shop\n"))
	g.Expect(lf.ok(g, "status", "shop", "-o", "json")).To(ContainSubstring(`"kind": "Application"`))
	g.Expect(lf.ok(g, "status", "-A", "-o", "jsonpath={.items[*].metadata.namespace}")).To(ContainSubstring("tools"))
}

func testCompletion(g Gomega, lf cli) {
	complete := func(args ...string) string {
		// Flags go first: the last word is the one being completed.
		var out, stderr bytes.Buffer
		args = append([]string{"__complete", "--kubeconfig", lf.kubeconfig, "-n", lf.namespace}, args...)
		g.Expect(execute(lf.t.Context(), args, &out, &stderr)).To(Equal(exitOK), stderr.String())
		return out.String()
	}
	g.Expect(complete("sync", "")).To(HavePrefix("shop\n"))
	g.Expect(complete("tree", "sh")).To(HavePrefix("shop\n"))
	g.Expect(complete("tree", "x")).NotTo(ContainSubstring("shop"))
	g.Expect(complete("diff", "shop", "--env", "")).To(HavePrefix("staging\n"))
	g.Expect(complete("rollback", "shop", "--env", "staging", "--to", "")).To(MatchRegexp(`^main@sha1:\w{40}\n`))
	g.Expect(complete("reconcile", "repository", "")).To(HavePrefix("shop\n"))
	g.Expect(complete("get", "")).To(HavePrefix("repositories\napplications\npreviews\n"))
	g.Expect(complete("get", "lfapp", "")).To(HavePrefix("shop\n"))
	g.Expect(complete("get", "applications", "shop", "")).NotTo(ContainSubstring("shop"), "names given are not offered again")
	g.Expect(complete("status", "-n", "")).To(ContainSubstring("tools\n"))
}

// rollback --timeout waits until the environment runs the revision; pinning the one it runs
// now is done at once.
func testRollbackWaits(g Gomega, lf cli) {
	rev := lf.ok(g, "get", "application", "shop", "-o", "jsonpath={.status.environments[0].revision}")
	out := lf.ok(g, "rollback", "shop", "--env", "staging", "--to", rev, "--timeout", "60s")
	g.Expect(out).To(ContainSubstring("staging pinned to " + rev))
	g.Expect(out).To(HaveSuffix("staging runs " + operate.ShortRevision(rev) + ", Healthy\n"))
	g.Expect(lf.ok(g, "resume", "shop")).To(Equal("tools/shop resumed\n"))
	_, _, code := lf.run("rollback", "shop", "--env", "no-such-env", "--timeout", "1s")
	g.Expect(code).To(Equal(exitError))

	// Bad input is refused with a message, and nothing is written: no pin appears.
	for _, args := range [][]string{
		{"--env", "staging", "--to", "main@sha1:4444444444444444444444444444444444444444"},
		{"--env", "no-such-env"},
	} {
		_, stderr, code := lf.run(append([]string{"rollback", "shop"}, args...)...)
		g.Expect(code).To(Equal(exitError), "rollback %v", args)
		g.Expect(stderr).To(Or(ContainSubstring("not in the history"), ContainSubstring(`no environment "no-such-env"`)), "rollback %v", args)
	}
	g.Expect(lf.ok(g, "get", "application", "shop", "-o", "jsonpath={.metadata.annotations}")).NotTo(ContainSubstring("pin.landfall.dev"),
		"a refused rollback pins nothing")
}
