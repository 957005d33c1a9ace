package dashboard

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/cluster"
)

// The tests of this package run the dashboard against a real kube-apiserver and etcd
// (envtest): real TokenReviews, SubjectAccessReviews under RBAC, and informers.
var (
	restConfig *rest.Config
	admin      client.Client
	scheme     = runtime.NewScheme()
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctrllog.SetLogger(logr.Discard())
	_ = clientgoscheme.AddToScheme(scheme)
	_ = landfallv1.AddToScheme(scheme)
	env, err := cluster.NewEnvtest()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if restConfig, err = env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	if admin, err = client.New(restConfig, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// testServer is a dashboard as the controller runs it, on an httptest server, with its
// own informer cache; stopped when the test ends.
func testServer(tb testing.TB) (*Server, string) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	informers, err := cache.New(restConfig, cache.Options{Scheme: scheme})
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := New(Options{Cache: informers, Reader: admin, Writer: admin,
		Authenticator: TokenReviewer{Client: admin}, Authorizer: SubjectAccessReviewer{Client: admin}, Log: logr.Discard()})
	if err != nil {
		tb.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	go func() { _ = informers.Start(ctx) }()
	if !informers.WaitForCacheSync(ctx) {
		tb.Fatal("cache did not sync")
	}
	hs := httptest.NewServer(srv)
	tb.Cleanup(func() { hs.Close(); cancel() })
	return srv, hs.URL
}

// namespace creates a namespace for one test.
func namespace(tb testing.TB, name string) string {
	tb.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: name + "-"}}
	mustDo(tb, admin.Create(context.Background(), ns))
	return ns.Name
}

// application creates an Application with two environments and a status: staging and
// production at revision, with one history entry each.
func application(tb testing.TB, ns, name, revision string) *landfallv1.Application {
	tb.Helper()
	ctx := context.Background()
	app := &landfallv1.Application{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: landfallv1.ApplicationSpec{RepositoryRef: landfallv1.LocalObjectReference{Name: "repo"}, Path: "apps/web",
			Environments: []landfallv1.Environment{{Name: "staging", Namespace: ns + "-staging"}, {Name: "production", Namespace: ns + "-prod"}}}}
	mustDo(tb, admin.Create(ctx, app))
	now := metav1.Now()
	app.Status = landfallv1.ApplicationStatus{
		Environments: []landfallv1.EnvironmentStatus{
			{Name: "staging", Revision: revision, LastHealthyRevision: revision, Health: landfallv1.HealthHealthy, Sync: landfallv1.SyncSynced},
			{Name: "production", Revision: revision, LastHealthyRevision: revision, Health: landfallv1.HealthHealthy, Sync: landfallv1.SyncSynced},
		},
		History: []landfallv1.HistoryEntry{
			{Revision: revision, Environment: "production", StartedAt: now, Result: landfallv1.ResultSucceeded},
			{Revision: revision, Environment: "staging", StartedAt: now, Result: landfallv1.ResultSucceeded},
		},
	}
	mustDo(tb, admin.Status().Update(ctx, app))
	return app
}

// token creates a ServiceAccount and returns a bearer token for it (TokenRequest).
func token(tb testing.TB, ns, name string) string {
	tb.Helper()
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	mustDo(tb, admin.Create(ctx, sa))
	expiry := int64(3600)
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}
	mustDo(tb, admin.SubResource("token").Create(ctx, sa, tr))
	return tr.Status.Token
}

// allow grants the ServiceAccount ns/name verbs on Landfall's resources in roleNS.
func allow(tb testing.TB, ns, name, roleNS string, verbs ...string) {
	tb.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "dash-" + name, Namespace: roleNS},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"landfall.dev"}, Resources: []string{"applications", "repositories", "previews"}, Verbs: verbs}}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "dash-" + name, Namespace: roleNS},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name}}
	mustDo(tb, admin.Create(ctx, role))
	mustDo(tb, admin.Create(ctx, binding))
}

func mustDo(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// eventually polls f until it returns nil, for up to a minute.
func eventually(tb testing.TB, what string, f func() error) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
