package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// world is what the story acts on.
type world struct {
	c       client.Client
	git     *gitserver.Server
	tb      *demoTB
	webhook string
}

// pushAndHook commits a change to main as author, with message, and sends the push webhook.
func (w *world) pushAndHook(author, message string, change func(dir string)) (string, error) {
	commit := w.git.CommitChangeAs(w.tb, "main", author, message, change)
	return commit, hook(w.webhook, "push", []byte(`{"ref":"refs/heads/main"}`))
}

// edit replaces old with new in a file of the work tree.
func edit(dir, file, old, new string) {
	p := filepath.Join(dir, file)
	b, err := os.ReadFile(p)
	if err != nil || !strings.Contains(string(b), old) {
		panic(fmt.Sprintf("demo: %s has no %q (%v)", file, old, err))
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		panic(err)
	}
}

// environment reads one environment's status of an Application.
func (w *world) environment(ctx context.Context, app, env string) (landfallv1.EnvironmentStatus, error) {
	a := &landfallv1.Application{}
	if err := w.c.Get(ctx, client.ObjectKey{Namespace: "landfall-system", Name: app}, a); err != nil {
		return landfallv1.EnvironmentStatus{}, err
	}
	for _, e := range a.Status.Environments {
		if e.Name == env {
			return e, nil
		}
	}
	return landfallv1.EnvironmentStatus{}, nil
}

// waitRolledOut waits until the environment completed revision (any, when empty) and is healthy.
func (w *world) waitRolledOut(ctx context.Context, app, env, revision string, timeout time.Duration) (string, error) {
	var last landfallv1.EnvironmentStatus
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		st, err := w.environment(ctx, app, env)
		last = st
		if err != nil || st.Rollout == nil {
			return false, nil
		}
		done := st.Rollout.Phase == landfallv1.RolloutCompleted && st.Health == landfallv1.HealthHealthy
		return done && (revision == "" || strings.HasSuffix(st.Revision, revision)), nil
	})
	if err != nil {
		return "", fmt.Errorf("%s/%s not rolled out: %s: %w", app, env, last.Message, err)
	}
	return last.Revision, nil
}

// waitApplied waits until the environment runs revision and is healthy, whether or not its
// rollout is still baking.
func (w *world) waitApplied(ctx context.Context, app, env, revision string, timeout time.Duration) error {
	var last landfallv1.EnvironmentStatus
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		st, err := w.environment(ctx, app, env)
		last = st
		return err == nil && strings.HasSuffix(st.Revision, revision) && st.Health == landfallv1.HealthHealthy &&
			st.Sync == landfallv1.SyncSynced, nil
	})
	if err != nil {
		return fmt.Errorf("%s/%s does not run %s: %s: %w", app, env, revision, last.Message, err)
	}
	return nil
}

// waitRolledBack waits until the environment rolled back from revision.
func (w *world) waitRolledBack(ctx context.Context, app, env, revision string, timeout time.Duration) (string, error) {
	var last landfallv1.EnvironmentStatus
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		st, err := w.environment(ctx, app, env)
		last = st
		return err == nil && st.Rollout != nil && st.Rollout.Phase == landfallv1.RolloutRolledBack &&
			strings.HasSuffix(st.Rollout.Revision, revision), nil
	})
	if err != nil {
		return "", fmt.Errorf("%s/%s did not roll back: %s: %w", app, env, last.Message, err)
	}
	return last.Message, nil
}

// waitDeploymentsAvailable waits until every Deployment of a namespace is available.
func (w *world) waitDeploymentsAvailable(ctx context.Context, ns string, want int, timeout time.Duration) error {
	return wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		list := &appsv1.DeploymentList{}
		if err := w.c.List(ctx, list, client.InNamespace(ns)); err != nil || len(list.Items) < want {
			return false, nil
		}
		for _, d := range list.Items {
			if d.Status.ObservedGeneration < d.Generation || d.Status.AvailableReplicas < 1 || d.Status.UpdatedReplicas != d.Status.Replicas {
				return false, nil
			}
		}
		return true, nil
	})
}

// waitNamespaceGone waits until a namespace no longer exists.
func (w *world) waitNamespaceGone(ctx context.Context, ns string, timeout time.Duration) error {
	return wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		err := w.c.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})
		return apierrors.IsNotFound(err), nil
	})
}

func short(rev string) string {
	if i := strings.Index(rev, "sha1:"); i >= 0 && len(rev) >= i+12 {
		return rev[:i+12]
	}
	return rev
}
