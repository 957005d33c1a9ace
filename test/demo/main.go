// Command demo tells Landfall's story on a laptop: it starts a full local cluster, installs
// the CRDs, runs the controller, and prints each step with its result and time. Nothing is
// left running when it ends.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/landfall-dev/landfall/test/cluster"
)

type step struct {
	name   string
	took   time.Duration
	result string
}

type demo struct {
	ctx   context.Context
	dir   string
	steps []step
}

// run times one step and prints it as it ends.
func (d *demo) run(name string, fn func() (string, error)) error {
	fmt.Printf("==> %s\n", name)
	start := time.Now()
	result, err := fn()
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		result = "FAILED: " + err.Error()
	}
	d.steps = append(d.steps, step{name, took, result})
	fmt.Printf("    %s (%s)\n", result, took)
	return err
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "landfall-demo-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	d := &demo{ctx: ctx, dir: dir}
	err = d.story()
	d.summary()
	_ = os.RemoveAll(dir)
	if err != nil {
		os.Exit(1)
	}
}

func (d *demo) story() error {
	var c *cluster.Cluster
	if err := d.run("Start a local cluster (etcd, apiserver, controllers, kwok)", func() (string, error) {
		var err error
		c, err = cluster.Start(d.ctx, cluster.Options{Name: "demo", Dir: filepath.Join(d.dir, "cluster"), Nodes: 3})
		if err != nil {
			return "", err
		}
		return "KUBECONFIG=" + c.Kubeconfig, nil
	}); err != nil {
		return err
	}
	defer c.Stop()
	if err := d.run("Install the Landfall CRDs", func() (string, error) {
		return installCRDs(d.ctx, c)
	}); err != nil {
		return err
	}
	var ctrl *exec.Cmd
	if err := d.run("Build and start the Landfall controller", func() (string, error) {
		var err error
		ctrl, err = startController(d.ctx, d.dir, c.Kubeconfig)
		return "controller healthy", err
	}); err != nil {
		return err
	}
	defer func() { _ = ctrl.Process.Signal(syscall.SIGTERM); _ = ctrl.Wait() }()
	return nil
}

func (d *demo) summary() {
	fmt.Println("\nSummary")
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "STEP\tTIME\tRESULT")
	for _, s := range d.steps {
		fmt.Fprintf(w, "%s\t%s\t%s\n", s.name, s.took, s.result)
	}
	_ = w.Flush()
}
