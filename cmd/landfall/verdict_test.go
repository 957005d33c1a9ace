package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// A Deployment that never turns healthy here: envtest runs no controller-manager to roll it out.
const cliDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:2}]}
`

// TestWaitsEndInAVerdict: sync, reconcile application and rollback wait for the controller
// against a real apiserver and say how it ended by their exit code, so a script can tell a
// failed rollout (1) from a failure to ask (2). On a terminal they show the controller's
// step and the time taken on standard error; anywhere else they show nothing but the result.
func TestWaitsEndInAVerdict(t *testing.T) {
	g := NewWithT(t)
	f := controlPlane(t)
	srv := gitserver.New(t, gitserver.Options{})
	good := srv.Commit(t, "main", map[string]string{"app/cm.yaml": cliConfigMap, "app/web.yaml": cliDeployment})
	createApp(g, f.client, srv, "verdicts", "verdicts-staging", func(a *landfallv1.Application) {
		a.Spec.Rollout = &landfallv1.RolloutSpec{HealthTimeout: &metav1.Duration{Duration: 3 * time.Second}}
	})
	lf := cli{t: t, kubeconfig: f.kubeconfig, namespace: "verdicts"}
	rollOut(g, f, appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1})
	g.Eventually(func() string { out, _, _ := lf.run("status"); return out }, 60*time.Second, 250*time.Millisecond).
		Should(MatchRegexp(`verdicts\s+shop\s+staging\s+main@sha1:\w{7}\s+Synced\s+Healthy\s+True`))
	out := lf.ok(g, "sync", "shop", "--timeout", "60s")
	g.Expect(out).To(MatchRegexp(`staging\s+main@sha1:\w{7}\s+Synced\s+Healthy\s+True`), "Ready: exit 0")

	// A new image nobody rolls out: the controller rolls the revision back after 3s.
	srv.Commit(t, "main", map[string]string{"app/web.yaml": strings.Replace(cliDeployment, "web:2", "web:3", 1)})
	lf.ok(g, "reconcile", "repository", "shop", "--timeout", "60s")
	tty := openTerminal(t)
	var stdout bytes.Buffer
	code := execute(t.Context(), []string{"sync", "shop", "--timeout", "90s", "--kubeconfig", f.kubeconfig, "-n", "verdicts"}, &stdout, tty.end)
	shown := tty.close()
	g.Expect(code).To(Equal(exitFindings), "a rolled back sync is a failed check; terminal: %q", shown)
	g.Expect(shown).To(MatchRegexp(`Error: Application verdicts/shop is not ready: (RolledBack|HealthCheckFailed): environment staging: `))
	g.Expect(shown).To(MatchRegexp(`\r\x1b\[K[^\r]*staging[^\r]* \(\d+s\)`), "the step and the time taken, on the terminal")
	g.Expect(stdout.String()).To(And(ContainSubstring("sync of verdicts/shop requested\n"),
		MatchRegexp(`staging\s+main@sha1:\w{7}\s+\w+\s+\w+\s+False`)), "the result on standard output")
	g.Expect(stdout.String()).NotTo(ContainSubstring("\r"))

	out, stderr, code := lf.run("reconcile", "application", "shop", "--timeout", "60s")
	g.Expect(code).To(Equal(exitFindings), "stdout %s, stderr %s", out, stderr)
	g.Expect(stderr).To(HavePrefix("Error: Application verdicts/shop is not ready: "), "not a terminal: no progress")

	// A rollback to the good revision, whose Deployment now misses its progress deadline: the
	// wait ends with exit 1 as soon as the environment reads Degraded, not after its minute.
	done := make(chan struct{})
	go func() {
		defer close(done)
		out, stderr, code = lf.run("rollback", "shop", "--env", "staging", "--to", good, "--timeout", "60s")
	}()
	rollOut(g, f, appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{{
		Type: appsv1.DeploymentProgressing, Status: "False", Reason: "ProgressDeadlineExceeded", Message: "web has timed out progressing"}}})
	start := time.Now()
	<-done
	g.Expect(code).To(Equal(exitFindings), "stdout %s, stderr %s", out, stderr)
	g.Expect(stderr).To(ContainSubstring("staging runs main@sha1:" + good[:7] + ", Degraded: "))
	g.Expect(time.Since(start)).To(BeNumerically("<", 50*time.Second), "ends when Degraded, before --timeout")
	lf.ok(g, "resume", "shop")

	// A fetch that fails is a failed check too.
	srv.SetDown(true)
	out, stderr, code = lf.run("reconcile", "repository", "shop", "--timeout", "60s")
	g.Expect(code).To(Equal(exitFindings), "stdout %s, stderr %s", out, stderr)
	g.Expect(stderr).To(HavePrefix("Error: Repository verdicts/shop is not ready: FetchFailed: "))

	// Asking about what is not there is an error (2), not a verdict.
	_, _, code = lf.run("sync", "no-such-app", "--timeout", "5s")
	g.Expect(code).To(Equal(exitError))
}

// TestPromoteWaits: promote --timeout approves the revision waiting for production and
// waits until production runs it, healthy.
func TestPromoteWaits(t *testing.T) {
	g := NewWithT(t)
	f := controlPlane(t)
	srv := gitserver.New(t, gitserver.Options{})
	rev := srv.Commit(t, "main", map[string]string{"app/cm.yaml": cliConfigMap})
	createApp(g, f.client, srv, "approvals", "approvals-staging", func(a *landfallv1.Application) {
		a.Spec.Environments = append(a.Spec.Environments, landfallv1.Environment{Name: "production", Namespace: "approvals-production", RequireApproval: true})
	})
	lf := cli{t: t, kubeconfig: f.kubeconfig, namespace: "approvals"}
	g.Eventually(func() string {
		return lf.ok(g, "get", "application", "shop", "-o", "jsonpath={.status.environments[?(@.name==\"production\")].awaitingApproval}")
	}, 60*time.Second, 250*time.Millisecond).Should(HaveSuffix(rev))
	// A sync cannot end a wait for approval: it says so at once, as a failed check, instead
	// of waiting out its timeout.
	start := time.Now()
	_, stderr, code := lf.run("sync", "shop", "--timeout", "5m")
	g.Expect(code).To(Equal(exitFindings), "stderr %s", stderr)
	g.Expect(stderr).To(ContainSubstring("is not ready: AwaitingApproval: environment production: "))
	g.Expect(time.Since(start)).To(BeNumerically("<", 4*time.Minute), "ends once handled, before --timeout")
	out := lf.ok(g, "promote", "shop", "--env", "production", "--timeout", "60s")
	g.Expect(out).To(Equal("approvals/shop production: main@sha1:" + rev + " approved\nproduction runs main@sha1:" + rev[:7] + ", Healthy\n"))
	_, stderr, code = lf.run("promote", "shop", "--env", "production", "--timeout", "5s")
	g.Expect(code).To(Equal(exitError), "nothing waits any more")
	g.Expect(stderr).To(ContainSubstring("no revision waits for approval"))
}

// rollOut writes the status a Deployment controller would give web's current generation.
func rollOut(g Gomega, f *cliFixture, st appsv1.DeploymentStatus) {
	g.Eventually(func() error {
		web := &appsv1.Deployment{}
		if err := f.client.Get(f.ctx, client.ObjectKey{Namespace: "verdicts-staging", Name: "web"}, web); err != nil {
			return err
		}
		web.Status = *st.DeepCopy()
		web.Status.ObservedGeneration = web.Generation
		return f.client.Status().Update(f.ctx, web)
	}, 60*time.Second, 250*time.Millisecond).Should(Succeed())
}

// terminal is a pseudo-terminal: end is its terminal end, for a command's output, and
// what is written to it is collected from the other end.
type terminal struct {
	end    *os.File
	master *os.File
	mu     sync.Mutex
	buf    bytes.Buffer
	done   chan struct{}
}

func openTerminal(t *testing.T) *terminal {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("numbering the pseudo-terminal: %v", err)
	}
	slave, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening the pseudo-terminal's end: %v", err)
	}
	tt := &terminal{end: slave, master: master, done: make(chan struct{})}
	go func() {
		defer close(tt.done)
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			tt.mu.Lock()
			tt.buf.Write(b[:n])
			tt.mu.Unlock()
			if err != nil { // EIO once the terminal end is closed
				return
			}
		}
	}()
	t.Cleanup(func() { _ = tt.end.Close(); _ = master.Close() })
	return tt
}

// close closes the terminal end and returns all that was written to it.
func (tt *terminal) close() string {
	_ = tt.end.Close()
	select {
	case <-tt.done:
	case <-time.After(10 * time.Second):
	}
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return strings.ReplaceAll(tt.buf.String(), "\r\n", "\n")
}
