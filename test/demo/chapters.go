package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/landfall-dev/landfall/controllers"
	"github.com/landfall-dev/landfall/test/cluster"
)

func newClient(c *cluster.Cluster) (client.Client, error) {
	scheme, err := controllers.NewScheme()
	if err != nil {
		return nil, err
	}
	return client.New(c.Config, client.Options{Scheme: scheme})
}

func (w *world) deployStaging(ctx context.Context) (string, error) {
	rev, err := w.waitRolledOut(ctx, "shop", "staging", "", 2*time.Minute)
	if err != nil {
		return "", err
	}
	if _, err := w.waitRolledOut(ctx, "payments", "staging", "", 2*time.Minute); err != nil {
		return "", err
	}
	return "shop and payments healthy in shop-staging at " + short(rev), nil
}

// decryptedSecret shows the orders database URL, SOPS-encrypted in Git, in clear in the
// cluster: Landfall decrypted it in memory with the Secret shop-age.
func (w *world) decryptedSecret(ctx context.Context) (string, error) {
	s := &corev1.Secret{}
	if err := w.c.Get(ctx, client.ObjectKey{Namespace: "shop-staging", Name: "orders-db"}, s); err != nil {
		return "", err
	}
	url := string(s.Data["DATABASE_URL"])
	if !strings.HasPrefix(url, "postgres://") {
		return "", errors.New("secret shop-staging/orders-db holds no decrypted DATABASE_URL")
	}
	return "Secret shop-staging/orders-db: DATABASE_URL=" + url + " (demo-only key; ENC[AES256_GCM,…] in Git)", nil
}

func (w *world) promote(ctx context.Context) (string, error) {
	rev, err := w.waitRolledOut(ctx, "shop", "production", "", 2*time.Minute)
	if err != nil {
		return "", err
	}
	if _, err := w.waitRolledOut(ctx, "payments", "production", "", 2*time.Minute); err != nil {
		return "", err
	}
	return "shop and payments healthy in shop-production at " + short(rev) + " after staging baked 5s", nil
}

func (w *world) configChange(ctx context.Context) (string, error) {
	start := time.Now()
	commit, err := w.pushAndHook("Ada Lovelace <ada@shop.example>", "shop: turn the new checkout off in staging", func(dir string) {
		edit(dir, "apps/shop/overlays/staging/kustomization.yaml", "FEATURE_NEW_CHECKOUT=true", "FEATURE_NEW_CHECKOUT=false")
	})
	if err != nil {
		return "", err
	}
	// Applied and healthy, not rolled out: staging's rollout completes only after its bake.
	if err := w.waitApplied(ctx, "shop", "staging", commit, time.Minute); err != nil {
		return "", err
	}
	staged := time.Since(start)
	if _, err := w.waitRolledOut(ctx, "shop", "production", commit, time.Minute); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s: new frontend-config, frontend live and healthy in staging %.1fs after the push; production followed after the bake",
		commit[:7], staged.Seconds()), nil
}

func (w *world) badImage(ctx context.Context) (string, error) {
	before, err := w.environment(ctx, "shop", "production")
	if err != nil {
		return "", err
	}
	commit, err := w.pushAndHook("Grace Hopper <grace@shop.example>", "shop: frontend image crash (a bad build)", func(dir string) {
		edit(dir, "apps/shop/overlays/staging/kustomization.yaml", "newTag: 1.1.0", "newTag: crash")
	})
	if err != nil {
		return "", err
	}
	msg, err := w.waitRolledBack(ctx, "shop", "staging", commit, 2*time.Minute)
	if err != nil {
		return "", err
	}
	after, err := w.environment(ctx, "shop", "production")
	if err != nil {
		return "", err
	}
	if after.Revision != before.Revision {
		return "", fmt.Errorf("production moved from %s to %s", before.Revision, after.Revision)
	}
	return fmt.Sprintf("%s never ready; staging %s; production untouched at %s", commit[:7], oneLine(msg, 90), short(after.Revision)), nil
}

func (w *world) openPullRequest(ctx context.Context) (string, error) {
	// The pull request's branch starts from main and changes the preview's frontend image.
	w.git.PushRef(w.tb, "refs/heads/feature/new-banner", w.git.Head(w.tb, "refs/heads/main"))
	commit := w.git.CommitChangeAs(w.tb, "feature/new-banner", "Alan Turing <alan@shop.example>", "shop: the new banner, frontend 1.2.0", func(dir string) {
		edit(dir, "apps/shop/overlays/preview/kustomization.yaml", "newTag: 1.1.0", "newTag: 1.2.0")
	})
	w.git.PushRef(w.tb, "refs/pull/1/head", commit)
	body := `{"action":"opened","number":1,"pull_request":{"number":1,"head":{"ref":"feature/new-banner"}}}`
	if err := hook(w.webhook, "pull_request", []byte(body)); err != nil {
		return "", err
	}
	if err := w.waitDeploymentsAvailable(ctx, "shop-pr-1", 2, 2*time.Minute); err != nil {
		return "", fmt.Errorf("preview shop-pr-1: %w", err)
	}
	return "pull request #1 at " + commit[:7] + " runs in namespace shop-pr-1", nil
}

func (w *world) closePullRequest(ctx context.Context) (string, error) {
	w.git.DeleteRef(w.tb, "refs/pull/1/head")
	body := `{"action":"closed","number":1,"pull_request":{"number":1,"head":{"ref":"feature/new-banner"}}}`
	if err := hook(w.webhook, "pull_request", []byte(body)); err != nil {
		return "", err
	}
	if err := w.waitNamespaceGone(ctx, "shop-pr-1", 2*time.Minute); err != nil {
		return "", fmt.Errorf("namespace shop-pr-1 still there: %w", err)
	}
	return "namespace shop-pr-1 and everything in it deleted", nil
}

func oneLine(s string, n int) string {
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}
