package cluster

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const serviceCIDR = "10.96.0.0/16"

func (c *Cluster) startEtcd(ctx context.Context) error {
	// etcd's data lives on tmpfs: fsync is free and tests are fast.
	data, err := os.MkdirTemp("/dev/shm", "landfall-etcd-")
	if err != nil {
		if data, err = os.MkdirTemp("", "landfall-etcd-"); err != nil {
			return err
		}
	}
	c.data = data
	if err := os.WriteFile(c.path("etcd-data"), []byte(data), 0o644); err != nil {
		return err
	}
	client := "http://127.0.0.1:" + strconv.Itoa(c.Ports.Etcd)
	peer := "http://127.0.0.1:" + strconv.Itoa(c.Ports.EtcdPeer)
	if _, err := c.run("etcd", "etcd", "--name=default", "--data-dir="+data,
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=default="+peer, "--initial-cluster-state=new",
		"--unsafe-no-fsync", "--quota-backend-bytes=2147483648",
		"--logger=zap", "--log-level=warn"); err != nil {
		return err
	}
	return c.waitFor(ctx, "etcd", 30*time.Second, func(ctx context.Context) error {
		return httpOK(ctx, client+"/health")
	})
}

func (c *Cluster) startAPIServer(ctx context.Context) error {
	p := pki{dir: c.path("pki")}
	if _, err := c.run("kube-apiserver", "kube-apiserver", append(c.auditFlags(),
		"--etcd-servers=http://127.0.0.1:"+strconv.Itoa(c.Ports.Etcd),
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(c.Ports.APIServer),
		// Only written into the kubernetes Service's endpoints, never bound; 1.37 refuses a
		// loopback address here, and 198.18.0.0/15 is reserved for benchmarking.
		"--advertise-address=198.18.0.1",
		"--tls-cert-file="+p.path("apiserver.crt"), "--tls-private-key-file="+p.path("apiserver.key"),
		"--client-ca-file="+p.path("ca.crt"),
		"--requestheader-client-ca-file="+p.path("ca.crt"), "--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file="+p.path("front-proxy-client.crt"), "--proxy-client-key-file="+p.path("front-proxy-client.key"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+p.path("sa.pub"), "--service-account-signing-key-file="+p.path("sa.key"),
		"--service-cluster-ip-range="+serviceCIDR,
		"--authorization-mode=RBAC", "--allow-privileged=true",
		"--cert-dir="+c.path("pki", "serving"), "--profiling=false",
		"--max-requests-inflight=1000", "--max-mutating-requests-inflight=500",
	)...); err != nil {
		return err
	}
	cs := c.Clientset()
	return c.waitFor(ctx, "kube-apiserver", 120*time.Second, func(ctx context.Context) error {
		_, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	})
}

// startControllers starts kube-controller-manager, kube-scheduler and kwok, creates the
// fake nodes and waits until pods can be scheduled.
func (c *Cluster) startControllers(ctx context.Context) error {
	p := pki{dir: c.path("pki")}
	common := []string{
		"--kubeconfig=" + c.Kubeconfig, "--authentication-kubeconfig=" + c.Kubeconfig,
		"--authorization-kubeconfig=" + c.Kubeconfig, "--bind-address=127.0.0.1",
		"--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
		"--leader-elect=false", "--kube-api-qps=500", "--kube-api-burst=1000", "--profiling=false",
	}
	if _, err := c.run("kube-controller-manager", "kube-controller-manager", append(common,
		"--secure-port="+strconv.Itoa(c.Ports.ControllerManager), "--cert-dir="+c.path("kcm"),
		"--root-ca-file="+p.path("ca.crt"), "--service-account-private-key-file="+p.path("sa.key"),
		"--service-cluster-ip-range="+serviceCIDR, "--use-service-account-credentials=false",
	)...); err != nil {
		return err
	}
	if _, err := c.run("kube-scheduler", "kube-scheduler", append(common,
		"--secure-port="+strconv.Itoa(c.Ports.Scheduler), "--cert-dir="+c.path("sched"))...); err != nil {
		return err
	}
	if _, err := c.run("kwok", "kwok", "--kubeconfig="+c.Kubeconfig,
		"--config="+c.path("kwok", "kwok.yaml"), "--config="+c.path("kwok", "stages.yaml"),
		"--manage-all-nodes=true", "--node-lease-duration-seconds=40",
		"--server-address=127.0.0.1:"+strconv.Itoa(c.Ports.Kwok)); err != nil {
		return err
	}
	if err := c.createNodes(ctx); err != nil {
		return err
	}
	return c.waitReady(ctx)
}

func (c *Cluster) createNodes(ctx context.Context) error {
	cs := c.Clientset()
	for i := 0; i < c.opts.Nodes; i++ {
		name := fmt.Sprintf("kwok-node-%d", i)
		capacity := corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("32"),
			corev1.ResourceMemory: resource.MustParse("256Gi"),
			corev1.ResourcePods:   resource.MustParse("110"),
		}
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name:        name,
				Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
				Labels: map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
					"kubernetes.io/arch": "amd64", "type": "kwok", "topology.kubernetes.io/zone": fmt.Sprintf("zone-%d", i%3)},
			},
			Status: corev1.NodeStatus{
				Addresses: []corev1.NodeAddress{
					{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("10.255.%d.%d", i/250, i%250+1)},
					{Type: corev1.NodeHostName, Address: name},
				},
				Capacity: capacity, Allocatable: capacity,
			},
		}
		if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating node %s: %w", name, err)
		}
	}
	return nil
}

// waitReady waits for Ready nodes, healthy controllers and the default ServiceAccount (which
// the controller-manager creates; pods cannot be created in a namespace before it).
func (c *Cluster) waitReady(ctx context.Context) error {
	cs := c.Clientset()
	if err := c.waitFor(ctx, "nodes", 60*time.Second, func(ctx context.Context) error {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		ready := 0
		for _, n := range nodes.Items {
			for _, cond := range n.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		if ready < c.opts.Nodes {
			return fmt.Errorf("%d of %d nodes ready", ready, c.opts.Nodes)
		}
		return nil
	}); err != nil {
		return err
	}
	for name, port := range map[string]int{"kube-controller-manager": c.Ports.ControllerManager, "kube-scheduler": c.Ports.Scheduler} {
		if err := c.waitFor(ctx, name, 60*time.Second, func(ctx context.Context) error {
			return httpOK(ctx, "https://127.0.0.1:"+strconv.Itoa(port)+"/healthz")
		}); err != nil {
			return err
		}
	}
	return c.waitFor(ctx, "default ServiceAccount", 60*time.Second, func(ctx context.Context) error {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// insecureLocal talks to the components' self-signed health endpoints on loopback.
var insecureLocal = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
	TLSClientConfig: insecureTLS(),
}}

func httpOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := insecureLocal.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}
