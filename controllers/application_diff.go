package controllers

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/render"
	"github.com/landfall-dev/landfall/render/decrypt"
	"github.com/landfall-dev/landfall/sync/apply"
	"github.com/landfall-dev/landfall/sync/diff"
	"github.com/landfall-dev/landfall/sync/source"
)

// Differ tells, without writing anything, what a sync of an Application would change. The
// command line uses it with the user's own credentials; no controller needs to run.
type Differ struct{ r *ApplicationReconciler }

// ObjectDiff is one object a sync would create or change.
type ObjectDiff struct {
	Environment string
	Object      string
	Action      apply.Action
	// Text is a unified diff, live against desired; Secret values are masked.
	Text string
}

// NewDiffer reads Repositories and Secrets through c and caches checkouts under cacheDir.
func NewDiffer(cfg *rest.Config, c client.Client, cacheDir string) (*Differ, error) {
	git, err := source.New(source.Options{CacheDir: filepath.Join(cacheDir, "git"), AllowHTTP: true})
	if err != nil {
		return nil, err
	}
	dests, err := newDestinations(cfg, c, client.Options{Scheme: c.Scheme()})
	if err != nil {
		return nil, err
	}
	return &Differ{r: &ApplicationReconciler{Client: c, Secrets: c, Source: git, Renderer: render.New(), Clusters: dests,
		Store: &revisionStore{client: c, reader: c}}}, nil
}

// Diff compares the Application's current revision with the live objects of one
// environment, or of all when env is empty.
func (d *Differ) Diff(ctx context.Context, app *landfallv1.Application, env string, color bool) ([]ObjectDiff, error) {
	co, err := d.r.checkout(ctx, app)
	if err != nil {
		return nil, err
	}
	defer co.Close()
	var out []ObjectDiff
	found := false
	for i := range app.Spec.Environments {
		e := &app.Spec.Environments[i]
		if env != "" && e.Name != env {
			continue
		}
		found = true
		diffs, err := d.environment(ctx, app, e, co, color)
		if err != nil {
			return out, fmt.Errorf("environment %s: %w", e.Name, err)
		}
		out = append(out, diffs...)
	}
	if !found {
		return nil, fmt.Errorf("application %s has no environment %q", app.Name, env)
	}
	return out, nil
}

func (d *Differ) environment(ctx context.Context, app *landfallv1.Application, env *landfallv1.Environment,
	co *source.Checkout, color bool) ([]ObjectDiff, error) {
	dest, err := d.r.Clusters.get(ctx, app.Namespace, env.Cluster)
	if err != nil {
		return nil, err
	}
	res, err := d.r.render(ctx, app, env, co, dest)
	if err != nil {
		return nil, err
	}
	objs := stamp(res.Objects, app, env.Name)
	mgr, err := d.r.applier(dest, app, env.Name, objs...)
	if err != nil {
		return nil, err
	}
	_, comps, err := mgr.Drifted(ctx, objs)
	var out []ObjectDiff
	for _, c := range comps {
		r, derr := diff.Diff(c.Live, c.Merged, diff.Options{Color: color})
		if derr != nil {
			return out, derr
		}
		// Secrets are masked by their shape; a value decrypted from a SOPS file may sit in
		// any object, so it is masked by its content.
		out = append(out, ObjectDiff{Environment: env.Name, Object: c.Ref.String(), Action: c.Action,
			Text: decrypt.Redact(r.Text, res.Sensitive)})
	}
	if err != nil && len(res.Sensitive) > 0 {
		err = errors.New(decrypt.Redact(err.Error(), res.Sensitive))
	}
	return out, err
}
