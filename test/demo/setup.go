package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/landfall-dev/landfall/test/cluster"

	"github.com/landfall-dev/landfall/test/ports"
)

func installCRDs(ctx context.Context, c *cluster.Cluster) (string, error) {
	crds, err := envtest.InstallCRDs(c.Config, envtest.CRDInstallOptions{
		Paths: []string{cluster.CRDDir()}, ErrorIfPathMissing: true,
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d CRDs established", len(crds)), nil
}

// startController builds the landfall binary and runs it against the cluster until healthy;
// it returns the process, the webhook receiver's address and the dashboard's.
func startController(ctx context.Context, dir, kubeconfig string) (*exec.Cmd, string, string, error) {
	bin, err := cluster.LandfallBinary(ctx, dir)
	if err != nil {
		return nil, "", "", err
	}
	probe, err := freeAddr()
	if err != nil {
		return nil, "", "", err
	}
	hooks, err := freeAddr()
	if err != nil {
		return nil, "", "", err
	}
	dash, err := freeAddr()
	if err != nil {
		return nil, "", "", err
	}
	logf, err := os.Create(filepath.Join(dir, "controller.log"))
	if err != nil {
		return nil, "", "", err
	}
	cmd := exec.Command(bin, "controller", "--kubeconfig", kubeconfig, "--leader-elect=false",
		"--metrics-bind-address", "0", "--health-probe-bind-address", probe,
		"--webhook-bind-address", hooks, "--dashboard-bind-address", dash, "--cache-dir", filepath.Join(dir, "cache"), "--log-json=false")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, "", "", err
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + probe + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd, hooks, dash, nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	return nil, "", "", fmt.Errorf("controller not ready within 60s; log: %s", logf.Name())
}

func freeAddr() (string, error) { return ports.Addr() }
