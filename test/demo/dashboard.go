package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/chromedp"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// dashboardToken makes a ServiceAccount (in default: landfall-system comes with the story)
// that may see and act on every Landfall object,
// and writes a bearer token for it (valid for a day) to dir/dashboard-token, for signing in.
func dashboardToken(ctx context.Context, c client.Client, dir string) (string, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "demo-dashboard", Namespace: "default"}}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "demo-dashboard"}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{"landfall.dev"}, Resources: []string{"applications", "repositories", "previews"},
		Verbs: []string{"get", "list", "watch", "patch"}}}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "demo-dashboard"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa.Name, Namespace: sa.Namespace}},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name}}
	for _, obj := range []client.Object{sa, role, binding} {
		if err := c.Create(ctx, obj); err != nil {
			return "", fmt.Errorf("creating the dashboard's demo user: %w", err)
		}
	}
	expiry := int64(24 * 3600)
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}
	if err := c.SubResource("token").Create(ctx, sa, tr); err != nil {
		return "", fmt.Errorf("a token for the dashboard: %w", err)
	}
	path := filepath.Join(dir, "dashboard-token")
	return path, os.WriteFile(path, []byte(tr.Status.Token), 0o600)
}

// screenshots signs a headless Chromium in and saves the Applications page and the shop's
// page, small, into dir: the README's pictures come from here.
func screenshots(ctx context.Context, base, tokenFile, dir string) (string, error) {
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		return "", err
	}
	// TMPDIR: Chromium's own singleton folder goes when the screenshots are taken.
	tmp, err := os.MkdirTemp("", "landfall-chromium-")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.NoSandbox, chromedp.WindowSize(1100, 640), chromedp.Env("TMPDIR="+tmp))
	if p := os.Getenv("LANDFALL_CHROMIUM"); p != "" {
		opts = append(opts, chromedp.ExecPath(p))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/login"),
		chromedp.SetValue(chromedp.CSS("#token"), string(token)), chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(chromedp.CSS("table.apps"))); err != nil {
		return "", fmt.Errorf("signing in: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for name, path := range map[string]string{"dashboard-applications.png": "/", "dashboard-application.png": "/applications/landfall-system/shop"} {
		tctx, tcancel := context.WithTimeout(bctx, time.Minute)
		if err := chromedp.Do(tctx, chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.CSS("#main h1"))); err != nil {
			tcancel()
			return "", err
		}
		png, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
		tcancel()
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			return "", err
		}
	}
	return "two screenshots in " + dir, nil
}
