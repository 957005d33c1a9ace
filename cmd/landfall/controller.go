package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"go.uber.org/zap/zapcore"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/landfall-dev/landfall/controllers"
	"github.com/landfall-dev/landfall/sync/source/webhook"
)

type controllerFlags struct {
	kubeconfig       string
	metricsAddr      string
	pprofAddr        string
	probeAddr        string
	webhookAddr      string
	webhookRefusals  int
	webhookRefill    float64
	dashboardAddr    string
	leaderElect      bool
	leaderNamespace  string
	leaderID         string
	lease            leaseFlags
	shard            shardFlags
	concurrency      int
	watchNamespaces  []string
	cacheDir         string
	logLevel         string
	logJSON          bool
	gracefulShutdown time.Duration
	render           renderSandboxFlags
	resync           time.Duration
	defaultSA        string
	requireTenant    bool
	healthRules      string
}

func newControllerCmd() *cobra.Command {
	f := &controllerFlags{}
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run the Landfall controller",
		Example: `  # As the chart runs it, in the cluster
  landfall controller --leader-elect

  # Against the cluster of your kubeconfig, for two namespaces, with readable logs
  landfall controller --kubeconfig ~/.kube/config --watch-namespaces team-a,team-b --log-json=false --leader-elect=false`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runController(f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file; in-cluster config or $KUBECONFIG when empty")
	fl.StringVar(&f.metricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus /metrics endpoint; 0 disables it")
	fl.StringVar(&f.probeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	fl.StringVar(&f.pprofAddr, "pprof-bind-address", "", "address of Go's /debug/pprof profiles, for measuring; empty or 0 disables it")
	fl.StringVar(&f.webhookAddr, "webhook-bind-address", ":9292", "address of the Git webhook receiver; 0 disables it")
	fl.IntVar(&f.webhookRefusals, "webhook-refusal-burst", webhook.RefusalBurst, "webhook requests refused in a row (bad signature, unknown repository…) before their source address is answered 429 unread")
	fl.Float64Var(&f.webhookRefill, "webhook-refusals-per-second", webhook.RefusalsPerSecond, "refused webhook requests a second a source address may make after its burst")
	fl.StringVar(&f.dashboardAddr, "dashboard-bind-address", "0", "address of the web dashboard (users sign in with their own bearer tokens); 0 disables it")
	fl.BoolVar(&f.leaderElect, "leader-elect", true, "hold a leader lease so only one replica reconciles")
	fl.StringVar(&f.leaderNamespace, "leader-election-namespace", "", "namespace of the leader lease ($POD_NAMESPACE, else landfall-system)")
	fl.StringVar(&f.leaderID, "leader-election-id", "landfall-controller", "name of the leader lease")
	f.lease.register(fl)
	f.shard.register(fl)
	// 16 by measurement (BenchmarkApplications with LANDFALL_BENCH_CONCURRENCY, 100
	// Applications on a 2-core machine): all Ready in 14–17 s at 16, 23 s at 4. A slow
	// Application holds one worker, not the others.
	fl.IntVar(&f.concurrency, "concurrency", 16, "objects of each kind reconciled at once")
	fl.StringSliceVar(&f.watchNamespaces, "watch-namespaces", nil, "namespaces whose Landfall objects are reconciled (all when empty)")
	fl.StringVar(&f.cacheDir, "cache-dir", filepath.Join(os.TempDir(), "landfall"), "where Git checkouts are cached")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info or error")
	fl.BoolVar(&f.logJSON, "log-json", true, "log JSON lines (false: human-readable console lines)")
	fl.StringVar(&f.defaultSA, "default-service-account", "", "ServiceAccount, in an Application's own namespace, that an Application without spec.serviceAccountName deploys as (empty: the controller's own rights)")
	fl.BoolVar(&f.requireTenant, "require-tenant-policy", false, "refuse Repositories and Applications in namespaces no TenantPolicy selects")
	fl.DurationVar(&f.gracefulShutdown, "graceful-shutdown-timeout", 30*time.Second, "how long running reconciles may take to finish on SIGTERM")
	f.render.register(fl)
	fl.StringVar(&f.healthRules, "health-rules", "", "YAML file of CEL health rules for every Application (a list as spec.healthCheckExprs holds; an Application's own rule for a kind wins); one that does not compile stops the controller at start")
	fl.DurationVar(&f.resync, "resync", 10*time.Minute, "how often each Application is reconciled, and its live objects compared, without any event")
	return cmd
}

func runController(f *controllerFlags) error {
	logger, err := newLogger(f.logLevel, f.logJSON)
	if err != nil {
		return err
	}
	ctrl.SetLogger(logger)
	if err := f.lease.validate(); err != nil {
		return err
	}
	rules, err := loadHealthRules(f.healthRules)
	if err != nil {
		return err
	}
	cfg, err := restConfig(f.kubeconfig)
	if err != nil {
		return err
	}
	cfg.UserAgent = f.shard.userAgent(cfg)
	scheme, err := controllers.NewScheme()
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: f.metricsAddr},
		PprofBindAddress:       f.pprofAddr,
		HealthProbeBindAddress: f.probeAddr,
		// A shard group needs no leader: each replica reconciles what it owns.
		LeaderElection:                f.leaderElect && !f.shard.enabled(),
		LeaderElectionID:              f.leaderID,
		LeaderElectionNamespace:       leaderNamespace(f.leaderNamespace),
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &f.lease.duration,
		RenewDeadline:                 &f.lease.renewDeadline,
		RetryPeriod:                   &f.lease.retryPeriod,
		GracefulShutdownTimeout:       &f.gracefulShutdown,
		Cache:                         cacheOptions(f.watchNamespaces),
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}

	// Liveness stays cheap: the process answers. Readiness (can serve: caches synced, the
	// webhook receiver listening) is added by controllers.Setup, on every replica.
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	iso, err := f.render.isolator()
	if err != nil {
		return err
	}
	ring, err := f.shard.ring(cfg, scheme, leaderNamespace(f.leaderNamespace), f.lease, logger)
	if err != nil {
		return err
	}
	var shards controllers.Ring // stays a nil interface unless sharded
	if ring != nil {
		if err := mgr.Add(ring); err != nil {
			return err
		}
		shards = ring
	}
	if err := controllers.Setup(mgr, controllers.Options{
		Shards:      shards,
		Concurrency: f.concurrency, CacheDir: f.cacheDir, WebhookAddr: f.webhookAddr, Jitter: 0.1,
		WebhookRefusalBurst: f.webhookRefusals, WebhookRefusalsPerSecond: f.webhookRefill,
		RenderIsolator: iso, Resync: f.resync,
		DefaultServiceAccount: f.defaultSA, RequireTenantPolicy: f.requireTenant, HealthRules: rules,
	}); err != nil {
		return fmt.Errorf("setting up controllers: %w", err)
	}
	if f.dashboardAddr != "0" {
		if err := addDashboard(mgr, cfg, f.dashboardAddr, f.cacheDir); err != nil {
			return fmt.Errorf("setting up the dashboard: %w", err)
		}
	}
	logger.Info("Starting controller", "version", version, "namespaces", f.watchNamespaces)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		return fmt.Errorf("running the manager: %w", err)
	}
	logger.Info("Stopped controller")
	return nil
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		return ctrl.GetConfig()
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	// As ctrl.GetConfig does: no client-side rate limit (client-go's default is 5 requests
	// a second), the apiserver's priority and fairness decides. At 5 a second a commit of
	// 200 objects took over a minute to apply.
	if cfg.QPS == 0 {
		cfg.QPS = -1
	}
	return cfg, nil
}

func leaderNamespace(flag string) string {
	if flag != "" {
		return flag
	}
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	return "landfall-system"
}

// cacheOptions limits the informers for Landfall's kinds to the watched namespaces.
func cacheOptions(namespaces []string) cache.Options {
	if len(namespaces) == 0 {
		return cache.Options{}
	}
	byNS := map[string]cache.Config{}
	for _, ns := range namespaces {
		byNS[ns] = cache.Config{}
	}
	return cache.Options{DefaultNamespaces: byNS}
}

func newLogger(level string, json bool) (logr.Logger, error) {
	opts := zap.Options{Development: !json}
	switch level {
	case "debug":
		opts.Level = zapcore.DebugLevel
	case "info":
		opts.Level = zapcore.InfoLevel
	case "error":
		opts.Level = zapcore.ErrorLevel
	default:
		return logr.Logger{}, fmt.Errorf("unknown --log-level %q: use debug, info or error", level)
	}
	return zap.New(zap.UseFlagOptions(&opts)), nil
}
