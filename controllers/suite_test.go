package controllers_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/landfall-dev/landfall/controllers"
	"github.com/landfall-dev/landfall/notify"
	"github.com/landfall-dev/landfall/render"
	"github.com/landfall-dev/landfall/sandbox"
	"github.com/landfall-dev/landfall/test/cluster"

	"github.com/landfall-dev/landfall/test/ports"
)

// One real apiserver (envtest) and one running manager serve every test of the package.
var (
	k8s         client.Client
	restConfig  *rest.Config
	webhookAddr string
	// cacheDir is the manager's checkout cache, and managerLog what it logged: tests that
	// keep secrets out of both read them.
	cacheDir   string
	managerLog lockedBuffer
	// dispatcher is the manager's notification dispatcher: benchmarks publish into it.
	dispatcher = notify.NewDispatcher()
	// managerCache is the manager's informer cache: tests that count requests wait for it
	// to catch up before they mark.
	managerCache client.Reader
)

// lockedBuffer keeps what the manager logs while a test records (start), safe for the
// manager's writes and the test's reads.
type lockedBuffer struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	recording bool
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.recording {
		b.buf.Write(p)
	}
	return len(p), nil
}

// start records from now until the test ends.
func (b *lockedBuffer) start(t testing.TB) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
	b.recording = true
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.recording = false
		b.buf.Reset()
	})
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestMain(m *testing.M) {
	sandbox.Main(render.ServeIsolated) // the render children of the manager are this binary
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if isGitServerProcess() {
		return m.Run() // a benchmark's out-of-process Git server needs no apiserver
	}
	// The checkout cache goes once the manager has stopped (the defers run last first).
	dir, err := os.MkdirTemp("", "landfall-controllers-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	cacheDir = dir
	env, err := cluster.NewEnvtest()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	restConfig, err = env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped, err := startManager(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { cancel(); <-stopped }()
	return m.Run()
}

// startManager starts the manager of every test; the channel is closed once it stopped.
func startManager(ctx context.Context) (<-chan struct{}, error) {
	ctrl.SetLogger(zap.New(zap.WriteTo(io.MultiWriter(os.Stderr, &managerLog)), zap.UseDevMode(true)))
	scheme, err := controllers.NewScheme()
	if err != nil {
		return nil, err
	}
	k8s, err = client.New(restConfig, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(managerRequests.config(restConfig), ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		return nil, err
	}
	managerCache = mgr.GetCache()
	webhookAddr, err = freeAddr()
	if err != nil {
		return nil, err
	}
	// Renders run in child processes of this test binary, as the controller's do.
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	iso, err := sandbox.New(sandbox.Config{Command: []string{exe}})
	if err != nil {
		return nil, err
	}
	if err := controllers.Setup(mgr, controllers.Options{Concurrency: 4, CacheDir: cacheDir, WebhookAddr: webhookAddr,
		RenderIsolator: iso, Notifications: dispatcher}); err != nil {
		return nil, err
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
			os.Exit(1)
		}
	}()
	return stopped, nil
}

func freeAddr() (string, error) { return ports.Addr() }

// newNamespace makes a namespace for one test or benchmark.
func newNamespace(t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

const (
	timeout = 20 * time.Second
	poll    = 50 * time.Millisecond
)
