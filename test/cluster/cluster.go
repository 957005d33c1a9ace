// Package cluster runs real Kubernetes control planes for tests, on loopback, from the
// binaries `make testbin` builds: envtest (etcd and kube-apiserver) for controller
// integration tests, and a full cluster (plus kube-controller-manager, kube-scheduler and
// kwok with fake nodes) where Deployments really roll out. Several run side by side.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/landfall-dev/landfall/test/testbin"
)

// Options shape a full cluster.
type Options struct {
	// Name tells clusters apart in logs and file names.
	Name string
	// Dir holds certificates, logs and the kubeconfig; a new temporary folder when empty.
	Dir string
	// Nodes is how many fake kwok nodes to create (default 2).
	Nodes int
	// Detach starts the processes in their own session so they outlive this process
	// (make cluster-up); otherwise they die with it.
	Detach bool
	// Log receives progress lines; nil discards them.
	Log func(format string, args ...any)
	// AuditWrites makes kube-apiserver log every write request (who, verb, object, user
	// agent; no bodies) to AuditLog(), so a test can count one client's writes.
	AuditWrites bool
	// AuditReadsOf adds the reads (get, list, watch) of these users to the audit log,
	// with AuditWrites: a benchmark counts every request of one client by verb and resource.
	AuditReadsOf []string
}

// Cluster is a running full control plane.
type Cluster struct {
	Name       string
	Dir        string
	Kubeconfig string
	Config     *rest.Config
	Ports      Ports

	opts  Options
	procs []*process
	data  string
}

// Ports are the loopback ports a cluster listens on.
type Ports struct{ Etcd, EtcdPeer, APIServer, ControllerManager, Scheduler, Kwok int }

// Start brings up etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok,
// creates the fake nodes, and returns once nodes are Ready and the default ServiceAccount
// exists. On error everything it started is stopped.
func Start(ctx context.Context, opts Options) (c *Cluster, err error) {
	if opts.Name == "" {
		opts.Name = "landfall"
	}
	if opts.Nodes == 0 {
		opts.Nodes = 2
	}
	if opts.Log == nil {
		opts.Log = func(string, ...any) {}
	}
	if err := requireBinaries(); err != nil {
		return nil, err
	}
	if opts.Dir == "" {
		if opts.Dir, err = os.MkdirTemp("", "landfall-cluster-"+opts.Name+"-"); err != nil {
			return nil, err
		}
	}
	started := &Cluster{Name: opts.Name, Dir: opts.Dir, opts: opts, Kubeconfig: filepath.Join(opts.Dir, "kubeconfig")}
	c = started
	defer func() {
		if err != nil {
			started.Stop() // c is nil here: the error returns dropped it
		}
	}()
	if err := os.MkdirAll(filepath.Join(c.Dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	if err := c.prepare(); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := c.startEtcd(ctx); err != nil {
		return nil, err
	}
	if err := c.startAPIServer(ctx); err != nil {
		return nil, err
	}
	if err := c.startControllers(ctx); err != nil {
		return nil, err
	}
	opts.Log("cluster %s up in %s: KUBECONFIG=%s", c.Name, time.Since(start).Round(time.Millisecond), c.Kubeconfig)
	return c, nil
}

func requireBinaries() error {
	var missing []string
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"} {
		if testbin.Path(b) == "" {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %v in %s: run `make testbin`", missing, testbin.Dir())
	}
	return nil
}

// prepare picks ports, makes certificates and writes the kubeconfig and kwok configuration.
func (c *Cluster) prepare() error {
	ports, err := freePorts(6)
	if err != nil {
		return err
	}
	c.Ports = Ports{ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]}
	if err := (pki{dir: c.path("pki")}).generate(); err != nil {
		return fmt.Errorf("making certificates: %w", err)
	}
	if err := c.writeKubeconfig(); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 200, 400
	c.Config = cfg
	if c.opts.AuditWrites {
		if err := writeAuditPolicy(c.path("audit-policy.yaml"), c.opts.AuditReadsOf); err != nil {
			return err
		}
	}
	return writeKwokConfig(c.path("kwok"))
}

func (c *Cluster) path(parts ...string) string {
	return filepath.Join(append([]string{c.Dir}, parts...)...)
}

func (c *Cluster) writeKubeconfig() error {
	p := pki{dir: c.path("pki")}
	server := "https://127.0.0.1:" + strconv.Itoa(c.Ports.APIServer)
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: %[1]s
  cluster: {server: %[2]q, certificate-authority: %[3]q}
users:
- name: admin
  user: {client-certificate: %[4]q, client-key: %[5]q}
contexts:
- name: %[1]s
  context: {cluster: %[1]s, user: admin}
current-context: %[1]s
`, c.Name, server, p.path("ca.crt"), p.path("admin.crt"), p.path("admin.key"))
	return os.WriteFile(c.Kubeconfig, []byte(kc), 0o600)
}

// Clientset returns a typed client for the cluster.
func (c *Cluster) Clientset() *kubernetes.Clientset { return kubernetes.NewForConfigOrDie(c.Config) }

// Stop stops every process the cluster started, etcd last, and removes etcd's data.
func (c *Cluster) Stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop(15 * time.Second)
	}
	c.procs = nil
	if c.data != "" {
		_ = os.RemoveAll(c.data)
	}
	_ = os.Remove(c.path("pids"))
}

// errExited says a component died while the cluster was starting.
var errExited = errors.New("exited")
