package main

import (
	"context"
	"os"
	"sync"
	"testing"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/landfall-dev/landfall/controllers"
	"github.com/landfall-dev/landfall/render"
	"github.com/landfall-dev/landfall/sandbox"
	"github.com/landfall-dev/landfall/test/cluster"
)

// cliFixture is one real apiserver with the controllers running, shared by the tests of this
// package that drive commands against a cluster; each test works in its own namespace.
type cliFixture struct {
	ctx        context.Context
	client     client.Client
	kubeconfig string
	env        *envtest.Environment
	dir        string
}

var (
	fixtureOnce sync.Once
	fixture     *cliFixture
	fixtureErr  error
	stopFixture = func() {}
)

// TestMain lets this test binary be the render sandbox child of the commands it runs, as
// the landfall binary is for itself, and stops the shared apiserver at the end.
func TestMain(m *testing.M) {
	sandbox.Main(render.ServeIsolated)
	code := m.Run()
	stopFixture()
	os.Exit(code)
}

func controlPlane(t *testing.T) *cliFixture {
	t.Helper()
	fixtureOnce.Do(func() { fixture, fixtureErr = startFixture() })
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixture
}

func startFixture() (*cliFixture, error) {
	env, err := cluster.NewEnvtest()
	if err != nil {
		return nil, err
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	dir, err := os.MkdirTemp("", "landfall-cli-")
	if err != nil {
		cancel()
		_ = env.Stop()
		return nil, err
	}
	stopFixture = func() { cancel(); _ = env.Stop(); _ = os.RemoveAll(dir) }
	kubeconfig, err := writeKubeconfigTo(env, dir)
	if err != nil {
		return nil, err
	}
	scheme, err := controllers.NewScheme()
	if err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		return nil, err
	}
	if err := controllers.Setup(mgr, controllers.Options{Concurrency: 2, CacheDir: dir + "/cache"}); err != nil {
		return nil, err
	}
	go func() { _ = mgr.Start(ctx) }()
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	return &cliFixture{ctx: ctx, client: c, kubeconfig: kubeconfig, env: env, dir: dir}, nil
}

func writeKubeconfigTo(env *envtest.Environment, dir string) (string, error) {
	return writeUserKubeconfig(env, dir, envtest.User{Name: "cli", Groups: []string{"system:masters"}})
}

// writeUserKubeconfig writes a kubeconfig that signs in as u (a client certificate).
func writeUserKubeconfig(env *envtest.Environment, dir string, u envtest.User) (string, error) {
	user, err := env.AddUser(u, nil)
	if err != nil {
		return "", err
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	path := dir + "/kubeconfig-" + u.Name
	return path, os.WriteFile(path, kc, 0o600)
}
