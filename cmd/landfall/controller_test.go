package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/landfall-dev/landfall/test/cluster"

	"github.com/landfall-dev/landfall/test/ports"
)

// TestControllerProcess runs the real binary against a real apiserver: it takes the leader
// lease, serves /metrics and /healthz, and on SIGTERM releases the lease and exits cleanly.
func TestControllerProcess(t *testing.T) {
	g := NewWithT(t)
	env, err := cluster.NewEnvtest()
	g.Expect(err).NotTo(HaveOccurred())
	cfg, err := env.Start()
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = env.Stop() })

	user, err := env.AddUser(envtest.User{Name: "landfall-admin", Groups: []string{"system:masters"}}, nil)
	g.Expect(err).NotTo(HaveOccurred())
	kubeconfig, err := user.KubeConfig()
	g.Expect(err).NotTo(HaveOccurred())
	kcPath := filepath.Join(t.TempDir(), "kubeconfig")
	g.Expect(os.WriteFile(kcPath, kubeconfig, 0o600)).To(Succeed())

	c, err := client.New(cfg, client.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	ctx := context.Background()
	g.Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "landfall-system"}})).To(Succeed())

	bin := buildLandfall(t)
	metrics, probes := freeAddr(t), freeAddr(t)
	var logs strings.Builder
	cmd := exec.Command(bin, "controller", "--kubeconfig", kcPath, "--metrics-bind-address", metrics,
		"--health-probe-bind-address", probes, "--webhook-bind-address", "0", "--cache-dir", t.TempDir())
	cmd.Stdout, cmd.Stderr = &logs, &logs
	g.Expect(cmd.Start()).To(Succeed())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	g.Eventually(func() string { return get(probes, "/healthz") }).WithTimeout(30 * time.Second).Should(Equal("200 ok"))
	g.Eventually(func() string { return get(probes, "/readyz") }).WithTimeout(30 * time.Second).Should(Equal("200 ok"))
	g.Eventually(func() string { return get(metrics, "/metrics") }).WithTimeout(30 * time.Second).
		Should(ContainSubstring("leader_election_master_status"))

	lease := &coordinationv1.Lease{}
	key := client.ObjectKey{Namespace: "landfall-system", Name: "landfall-controller"}
	g.Eventually(func() string {
		if err := c.Get(ctx, key, lease); err != nil || lease.Spec.HolderIdentity == nil {
			return ""
		}
		return *lease.Spec.HolderIdentity
	}).WithTimeout(30 * time.Second).ShouldNot(BeEmpty())

	g.Expect(cmd.Process.Signal(syscall.SIGTERM)).To(Succeed())
	select {
	case err := <-exited:
		g.Expect(err).NotTo(HaveOccurred(), "exit status after SIGTERM; logs:\n%s", logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("controller did not exit within 30s of SIGTERM; logs:\n%s", logs.String())
	}
	g.Expect(c.Get(ctx, key, lease)).To(Succeed())
	g.Expect(lease.Spec.HolderIdentity).To(Or(BeNil(), HaveValue(BeEmpty())), "the lease is released on shutdown")
	g.Expect(logs.String()).To(ContainSubstring("Stopped controller"))
}

func buildLandfall(t *testing.T) string {
	t.Helper()
	bin, err := cluster.LandfallBinary(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	addr, err := ports.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func get(addr, path string) string {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if path == "/metrics" {
		return string(b)
	}
	return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
}
