package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/controllers"
	"github.com/landfall-dev/landfall/dashboard"
)

func newDashboardCmd() *cobra.Command {
	var k kubeFlags
	var addr string
	var open bool
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Serve the dashboard on localhost with your kubeconfig's identity and rights",
		Long: `Dashboard serves Landfall's web dashboard on localhost: the delivery pipeline of every
Application you may see, live, and the actions (sync, rollback, resume, approve, suspend)
your kubeconfig's user may take. It prints a URL with a one-time key that signs your
browser in; nobody else on the machine can use it without that key.`,
		Example: `  # Every namespace your kubeconfig may list; opens the browser
  landfall dashboard -A --open

  # One namespace, on a fixed port
  landfall dashboard -n team-a --address 127.0.0.1:9393`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, cfg, ns, err := k.client()
			if err != nil {
				return err
			}
			if k.allNamespaces {
				ns = ""
			}
			return serveLocalDashboard(cmd, c, cfg, ns, addr, open)
		},
	}
	k.register(cmd)
	k.registerAll(cmd, "Applications")
	cmd.Flags().StringVar(&addr, "address", "127.0.0.1:9393", "where to listen (keep it on loopback: the key in the URL is the only sign-in)")
	cmd.Flags().BoolVar(&open, "open", false, "open the URL in the desktop's browser (xdg-open)")
	return cmd
}

func serveLocalDashboard(cmd *cobra.Command, c client.Client, cfg *rest.Config, ns, addr string, open bool) error {
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	informers, err := newCache(cfg, c, ns)
	if err != nil {
		return err
	}
	go func() { _ = informers.Start(ctx) }()
	key := dashboard.NewLoginKey()
	srv, err := dashboard.New(dashboard.Options{
		Cache: informers, Reader: c, Writer: c, LoginKey: key,
		Authenticator: dashboard.KeyAuthenticator{Key: key, User: dashboard.User{Name: orDefault(whoAmI(ctx, c), "you")}},
		Authorizer:    dashboard.SelfAccessReviewer{Client: c},
		Differ:        differ(cfg, c),
		Log:           ctrl.Log.WithName("dashboard"),
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	syncCtx, syncCancel := context.WithTimeout(ctx, time.Minute)
	defer syncCancel()
	if !informers.WaitForCacheSync(syncCtx) {
		return errors.New("the Applications, Repositories and Previews could not be listed within a minute (do you have list and watch on them? -n NAMESPACE limits the dashboard to one namespace)")
	}
	url := fmt.Sprintf("http://%s/login?key=%s", ln.Addr(), key)
	fmt.Fprintf(cmd.OutOrStdout(), "Landfall dashboard: %s\n(Ctrl-C stops it)\n", url)
	if open {
		_ = exec.CommandContext(ctx, "xdg-open", url).Start()
	}
	return srv.Serve(ctx, ln)
}

// newCache watches Landfall's kinds (of one namespace, unless ns is "") with the user's
// credentials.
func newCache(cfg *rest.Config, c client.Client, ns string) (cache.Cache, error) {
	opts := cache.Options{Scheme: c.Scheme()}
	if ns != "" {
		opts.DefaultNamespaces = map[string]cache.Config{ns: {}}
	}
	informers, err := cache.New(cfg, opts)
	if err != nil {
		return nil, err
	}
	for _, obj := range []client.Object{&landfallv1.Application{}, &landfallv1.Repository{}, &landfallv1.Preview{}} {
		if _, err := informers.GetInformer(context.Background(), obj); err != nil {
			return nil, err
		}
	}
	return informers, nil
}

// differ serves the live-vs-Git diff with c's rights; checkouts go to the user cache.
func differ(cfg *rest.Config, c client.Client) dashboard.Differ {
	d, err := controllers.NewDiffer(cfg, c, filepath.Join(userCacheDir(), "landfall", "dashboard"))
	if err != nil {
		return nil
	}
	return diffAdapter{d}
}

type diffAdapter struct{ d *controllers.Differ }

func (a diffAdapter) Diff(ctx context.Context, app *landfallv1.Application, env string) ([]dashboard.ObjectDiff, error) {
	diffs, err := a.d.Diff(ctx, app, env, false)
	out := make([]dashboard.ObjectDiff, 0, len(diffs))
	for _, d := range diffs {
		out = append(out, dashboard.ObjectDiff{Environment: d.Environment, Object: d.Object, Action: string(d.Action), Text: d.Text})
	}
	return out, err
}

func orDefault(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

func userCacheDir() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return dir
	}
	return os.TempDir()
}

// addDashboard serves the dashboard from the controller's caches on addr, on every
// replica: users bring their own tokens, and their own rights decide what they see and do.
func addDashboard(mgr ctrl.Manager, cfg *rest.Config, addr, cacheDir string) error {
	// Reads and diffs not served by the manager's cache go straight to the apiserver: a
	// cached client would start informers for every kind a page reads (Secrets among them).
	direct, err := client.New(cfg, client.Options{Scheme: mgr.GetScheme()})
	if err != nil {
		return err
	}
	var diffs dashboard.Differ
	if d, err := controllers.NewDiffer(cfg, direct, filepath.Join(cacheDir, "dashboard")); err == nil {
		diffs = diffAdapter{d}
	}
	srv, err := dashboard.New(dashboard.Options{
		Cache: mgr.GetCache(), Reader: direct, Writer: mgr.GetClient(), Differ: diffs,
		Authenticator: dashboard.TokenReviewer{Client: direct},
		Authorizer:    dashboard.SubjectAccessReviewer{Client: direct},
		Log:           mgr.GetLogger().WithName("dashboard"),
	})
	if err != nil {
		return err
	}
	return mgr.Add(srv.Runnable(addr))
}
