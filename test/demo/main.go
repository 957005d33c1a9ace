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
	"github.com/landfall-dev/landfall/test/metricsapi"
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
	// summarized: the summary was printed before the dashboard was left open.
	summarized bool
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
	if !d.summarized {
		d.summary()
	}
	if err != nil && os.Getenv("LANDFALL_DEMO_KEEP") == "" {
		fmt.Println("(set LANDFALL_DEMO_KEEP=1 to keep the logs in", dir+")")
	}
	if os.Getenv("LANDFALL_DEMO_KEEP") == "" {
		_ = os.RemoveAll(dir)
	}
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
	if err := d.run("Install the Landfall CRDs", func() (string, error) { return installCRDs(d.ctx, c) }); err != nil {
		return err
	}
	// The shop's autoscalers are healthy only where metrics are served; kwok's pods have none.
	stopMetrics := func() {}
	if err := d.run("Serve the resource metrics API and publish Ingress addresses", func() (string, error) {
		k8s, err := newClient(c)
		if err != nil {
			return "", err
		}
		stopMetrics, err = metricsapi.Serve(d.ctx, k8s)
		if err == nil {
			ctx, cancel := context.WithCancel(d.ctx)
			go publishIngresses(ctx, k8s)
			stop := stopMetrics
			stopMetrics = func() { cancel(); stop() }
		}
		return "metrics.k8s.io Available: every pod at 70% of its CPU request; Ingresses get an address", err
	}); err != nil {
		return err
	}
	defer stopMetrics()
	tb := &demoTB{dir: filepath.Join(d.dir, "git")}
	defer tb.close()
	w := &world{tb: tb}
	if err := d.run("Start a Git server seeded from examples/shop-config", func() (string, error) {
		var err error
		var commit string
		w.git, commit, err = seedGit(tb)
		return w.git.URL + " at " + commit[:7], err
	}); err != nil {
		return err
	}
	var ctrl *exec.Cmd
	var dashboard string
	if err := d.run("Build and start the Landfall controller", func() (string, error) {
		var err error
		ctrl, w.webhook, dashboard, err = startController(d.ctx, d.dir, c.Kubeconfig)
		return "controller healthy, webhooks on " + w.webhook, err
	}); err != nil {
		return err
	}
	defer func() { _ = ctrl.Process.Signal(syscall.SIGTERM); _ = ctrl.Wait() }()
	var err error
	if w.c, err = newClient(c); err != nil {
		return err
	}
	base := "http://" + dashboard
	var tokenFile string
	if err := d.run("Open the dashboard", func() (string, error) {
		var err error
		tokenFile, err = dashboardToken(d.ctx, w.c, d.dir)
		return fmt.Sprintf("dashboard: %s/ (sign in with the token in %s)", base, tokenFile), err
	}); err != nil {
		return err
	}
	if err := d.chapters(w); err != nil {
		return err
	}
	if dir := os.Getenv("LANDFALL_DEMO_SCREENSHOTS"); dir != "" {
		if err := d.run("Screenshots of the dashboard", func() (string, error) { return screenshots(d.ctx, base, tokenFile, dir) }); err != nil {
			return err
		}
	}
	if os.Getenv("LANDFALL_DEMO_KEEP") != "" {
		d.summary()
		d.summarized = true
		fmt.Printf("\nThe dashboard stays open at %s/ (token in %s); Ctrl-C stops everything.\n", base, tokenFile)
		<-d.ctx.Done()
	}
	return nil
}

// chapters is the story itself, each step timed.
func (d *demo) chapters(w *world) error {
	ctx := d.ctx
	steps := []struct {
		name string
		fn   func() (string, error)
	}{
		{"Create the Repository, Applications and Preview of examples/deploy", func() (string, error) { return w.createResources(ctx) }},
		{"Deploy to staging", func() (string, error) { return w.deployStaging(ctx) }},
		{"The orders database URL, SOPS-encrypted in Git, decrypted in the cluster", func() (string, error) { return w.decryptedSecret(ctx) }},
		{"Promote to production after staging baked", func() (string, error) { return w.promote(ctx) }},
		{"Push a config change (git push + webhook)", func() (string, error) { return w.configChange(ctx) }},
		{"Push a bad image: automatic rollback", func() (string, error) { return w.badImage(ctx) }},
		{"Open a pull request: a preview namespace", func() (string, error) { return w.openPullRequest(ctx) }},
		{"Close the pull request: the preview goes", func() (string, error) { return w.closePullRequest(ctx) }},
	}
	for _, s := range steps {
		if err := d.run(s.name, s.fn); err != nil {
			fmt.Printf("    controller log: %s\n", filepath.Join(d.dir, "controller.log"))
			return err
		}
	}
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
