// Command localcluster starts a full local Kubernetes cluster in the background (make
// cluster-up) and stops exactly what it started (make cluster-down).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/landfall-dev/landfall/test/cluster"
)

func main() {
	dir := flag.String("dir", os.ExpandEnv("$HOME/.cache/landfall/cluster"), "folder for the cluster's state")
	name := flag.String("name", "landfall", "cluster name")
	nodes := flag.Int("nodes", 3, "fake nodes")
	flag.Parse()
	var err error
	switch flag.Arg(0) {
	case "up":
		err = up(*dir, *name, *nodes)
	case "down":
		err = cluster.StopRecorded(*dir)
		if err == nil {
			fmt.Println("cluster stopped")
		}
	default:
		err = fmt.Errorf("usage: localcluster [-dir DIR] up|down")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "localcluster:", err)
		os.Exit(1)
	}
}

func up(dir, name string, nodes int) error {
	if _, err := os.Stat(dir + "/pids"); err == nil {
		return fmt.Errorf("a cluster is recorded in %s already: run make cluster-down first", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	logf := func(format string, args ...any) { fmt.Printf(format+"\n", args...) }
	c, err := cluster.Start(ctx, cluster.Options{Name: name, Dir: dir, Nodes: nodes, Detach: true, Log: logf})
	if err != nil {
		return err
	}
	fmt.Printf("KUBECONFIG=%s\n", c.Kubeconfig)
	return nil
}
