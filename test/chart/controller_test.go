package chart_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/landfall-dev/landfall/test/cluster"

	"github.com/landfall-dev/landfall/test/ports"
)

// controller is a landfall controller process running on this machine.
type controller struct {
	logPath string
	probes  string
	webhook string // where Git hosts would post, host:port
	exited  chan error
}

// Log returns what the controller has logged so far.
func (c *controller) Log() string {
	b, _ := os.ReadFile(c.logPath)
	return string(b)
}

// LogMark returns how far the log has come, so that a step can read only what was logged
// since: an earlier step may have provoked "forbidden" on purpose.
func (c *controller) LogMark() int {
	return len(c.Log())
}

// LogSince returns what the controller has logged since mark.
func (c *controller) LogSince(mark int) string {
	return c.Log()[mark:]
}

// startController runs the landfall binary outside the cluster exactly as the release's
// Deployment would run it in a pod — same arguments, same POD_NAMESPACE — but for the
// listen addresses and cache folder, which must be free on this machine. It authenticates
// as the release's ServiceAccount by impersonation, so every request it makes is
// authorized by the chart's RBAC and nothing else. It stops when the test ends.
func startController(t *testing.T, f *fixture, rel releaseRef) *controller {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	d := &appsv1.Deployment{}
	g.Expect(f.admin.Get(ctx, client.ObjectKey{Namespace: rel.namespace, Name: rel.name}, d)).To(Succeed())
	g.Expect(d.Spec.Template.Spec.Containers).To(HaveLen(1))
	pod := d.Spec.Template.Spec
	g.Expect(pod.ServiceAccountName).To(Equal(rel.serviceAccount))

	kubeconfig := impersonatingKubeconfig(t, f.cluster, rel)
	ctl := &controller{logPath: filepath.Join(t.TempDir(), "controller.log"), probes: freeAddr(t), webhook: freeAddr(t),
		exited: make(chan error, 1)}
	local := map[string]string{
		"--metrics-bind-address":      freeAddr(t),
		"--health-probe-bind-address": ctl.probes,
		"--webhook-bind-address":      ctl.webhook,
		"--cache-dir":                 t.TempDir(),
		"--log-json":                  "false", // readable when a failure prints the log
	}
	args := []string{"--kubeconfig=" + kubeconfig}
	for _, a := range pod.Containers[0].Args {
		// The kubelet expands $(VAR) from the container's environment.
		a = strings.ReplaceAll(a, "$(POD_NAMESPACE)", rel.namespace)
		if name, _, ok := strings.Cut(a, "="); ok && local[name] != "" {
			a = name + "=" + local[name]
		}
		args = append(args, a)
	}
	logf, err := os.Create(ctl.logPath)
	g.Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(f.landfall, args...)
	cmd.Env = append(os.Environ(), "POD_NAMESPACE="+rel.namespace)
	cmd.Stdout, cmd.Stderr = logf, logf
	g.Expect(cmd.Start()).To(Succeed())
	t.Logf("controller as %s: %s %s", rel.user(), f.landfall, strings.Join(args, " "))
	go func() { ctl.exited <- cmd.Wait(); _ = logf.Close() }()
	t.Cleanup(func() { ctl.stop(t, cmd) })

	g.Eventually(func(g Gomega) {
		select {
		case err := <-ctl.exited:
			ctl.exited <- err
			StopTrying("the controller exited: " + fmt.Sprint(err) + "\n" + ctl.Log()).Now()
		default:
		}
		resp, err := http.Get("http://" + ctl.probes + "/readyz")
		g.Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	}).WithTimeout(time.Minute).WithPolling(200 * time.Millisecond).Should(Succeed())
	return ctl
}

// stop sends SIGTERM and waits for a clean exit; on a failed test it prints the log.
func (c *controller) stop(t *testing.T, cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.exited:
		if err != nil {
			t.Errorf("controller exited with %v", err)
		}
	case <-time.After(45 * time.Second):
		_ = cmd.Process.Kill()
		t.Errorf("controller did not stop within 45s of SIGTERM")
	}
	if t.Failed() {
		t.Logf("controller log:\n%s", c.Log())
	}
}

// impersonatingKubeconfig copies the cluster's admin kubeconfig and makes every request
// act as the release's ServiceAccount. The apiserver adds the ServiceAccount's groups
// (system:serviceaccounts, system:serviceaccounts:<namespace>) as it does for its tokens.
// It checks that the impersonation holds: the ServiceAccount may not list Nodes.
func impersonatingKubeconfig(t *testing.T, c *cluster.Cluster, rel releaseRef) string {
	t.Helper()
	g := NewWithT(t)
	kc, err := clientcmd.LoadFromFile(c.Kubeconfig)
	g.Expect(err).NotTo(HaveOccurred())
	for _, user := range kc.AuthInfos {
		user.Impersonate = rel.user()
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	g.Expect(clientcmd.WriteToFile(*kc, path)).To(Succeed())

	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	g.Expect(err).NotTo(HaveOccurred())
	cl, err := client.New(cfg, client.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	err = cl.List(context.Background(), &corev1.NodeList{})
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "impersonating %s must not list Nodes, got %v", rel.user(), err)
	return path
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := ports.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}
