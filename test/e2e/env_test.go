package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/cluster"
)

// controllerUser is the identity the controller process authenticates as: its own client
// certificate, so the apiserver's audit log tells its requests from everyone else's.
const controllerUser = "landfall-controller"

// env is one full local cluster with Landfall's CRDs, and the landfall controller running
// against it as a child process.
type env struct {
	name    string
	dir     string
	cluster *cluster.Cluster
	// k8s is the tester's client (the cluster admin), not the controller's.
	k8s  client.Client
	ctrl *controller
}

var scheme = newScheme()

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := landfallv1.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := apiextensionsv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// startEnv starts a cluster with nodes fake nodes, installs the CRDs and starts the
// controller; on error it stops what it started.
func startEnv(ctx context.Context, name string, nodes int, controllerArgs ...string) (*env, error) {
	return startEnvWith(ctx, envOptions{name: name, nodes: nodes}, controllerArgs...)
}

// envOptions shape an env beyond its name and size.
type envOptions struct {
	name  string
	nodes int
	// auditReads adds the controller's reads to the audit log: the fleet benchmark counts
	// every request it makes, by verb and resource.
	auditReads bool
}

func startEnvWith(ctx context.Context, o envOptions, controllerArgs ...string) (e *env, err error) {
	name := o.name
	e = &env{name: name, dir: filepath.Join(workDir, name)}
	var readers []string
	if o.auditReads {
		readers = []string{controllerUser}
	}
	if e.cluster, err = startCluster(ctx, name, filepath.Join(e.dir, "cluster"), o.nodes, readers...); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.stop()
		}
	}()
	if _, err := envtest.InstallCRDs(e.cluster.Config, envtest.CRDInstallOptions{
		Paths: []string{cluster.CRDDir()}, ErrorIfPathMissing: true,
	}); err != nil {
		return nil, fmt.Errorf("installing the CRDs: %w", err)
	}
	if e.k8s, err = client.New(e.cluster.Config, client.Options{Scheme: scheme}); err != nil {
		return nil, err
	}
	kubeconfig, err := e.cluster.UserKubeconfig(controllerUser, "system:masters")
	if err != nil {
		return nil, err
	}
	kcPath := filepath.Join(e.dir, "controller.kubeconfig")
	if err := os.WriteFile(kcPath, kubeconfig, 0o600); err != nil {
		return nil, err
	}
	e.ctrl, err = startController(ctx, filepath.Join(e.dir, "controller"), kcPath, controllerArgs...)
	return e, err
}

// startCluster starts a full cluster whose apiserver audits write requests.
func startCluster(ctx context.Context, name, dir string, nodes int, readers ...string) (*cluster.Cluster, error) {
	logf := func(format string, args ...any) {
		if testing.Verbose() {
			fmt.Fprintf(os.Stderr, "cluster "+name+": "+format+"\n", args...)
		}
	}
	c, err := cluster.Start(ctx, cluster.Options{Name: name, Dir: dir, Nodes: nodes, AuditWrites: true, AuditReadsOf: readers, Log: logf})
	if err != nil {
		return nil, fmt.Errorf("starting cluster %s (logs in %s): %w", name, dir, err)
	}
	return c, nil
}

func (e *env) stop() {
	if e.ctrl != nil {
		e.ctrl.stop()
	}
	if e.cluster != nil {
		e.cluster.Stop()
	}
}

// dumpOnFailure prints the controller's log lines written during tb's test if it fails.
func (e *env) dumpOnFailure(tb testing.TB) {
	if e.ctrl == nil {
		return
	}
	mark := e.ctrl.logSize()
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("controller log (%s) since the test began:\n%s", e.ctrl.logPath, e.ctrl.logSince(mark, 300))
			tb.Logf("cluster component logs: %s", filepath.Join(e.cluster.Dir, "logs"))
		}
	})
}
