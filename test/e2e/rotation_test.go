package e2e

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/cluster"
)

// TestRemoteCredentialsRotated: production lives on a second cluster reached through a
// kubeconfig Secret. The Secret is rotated to a new user and the old user's rights are
// revoked; the remote apiserver restarts, so every watch made with the old credentials
// must list again and is refused. Drift on that cluster is still healed: the refused
// watches wake the Application, whose next pass reads the new Secret.
func TestRemoteCredentialsRotated(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	e := shared(t)
	remote, remoteK8s := startRemote(t, "rotated", 1)

	f := newFixture(t, e, testdata(t, "web", "apps/web"))
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "production-cluster", Namespace: f.ns},
		Data: map[string][]byte{"kubeconfig": remoteUser(t, remote, remoteK8s, "landfall-old")}}
	must(t, e.k8s.Create(ctx, secret))
	production := f.ns + "-prod"
	app := f.application(t, "web", "apps/web", []landfallv1.Environment{{Name: "production", Namespace: production,
		Cluster: &landfallv1.ClusterRef{SecretRef: landfallv1.LocalObjectReference{Name: secret.Name}}}}, nil)
	g.Eventually(func(g Gomega) { expectSynced(g, f.get(g, app), f.srv.Head(t, "refs/heads/main")) }, timeout, poll).Should(Succeed())
	editAndExpectHealed(t, remoteK8s, production)

	// Rotate: new credentials in the Secret, the old ones revoked, every old watch broken.
	secret.Data["kubeconfig"] = remoteUser(t, remote, remoteK8s, "landfall-new")
	must(t, e.k8s.Update(ctx, secret))
	must(t, remoteK8s.Delete(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "landfall-old"}}))
	must(t, remote.StopAPIServer())
	startCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	must(t, remote.StartAPIServer(startCtx))

	editAndExpectHealed(t, remoteK8s, production)
	editAndExpectHealed(t, remoteK8s, production) // and again, through the new watches
}

// startRemote starts a second cluster for the test, stopped when it ends, and returns it
// with an admin client.
func startRemote(t *testing.T, name string, nodes int) (*cluster.Cluster, client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	remote, err := startCluster(ctx, name, t.TempDir(), nodes)
	must(t, err)
	t.Cleanup(remote.Stop)
	c, err := client.New(remote.Config, client.Options{Scheme: scheme})
	must(t, err)
	return remote, c
}

// remoteUser makes a user of the remote cluster with cluster-admin rights through a
// ClusterRoleBinding of its name (deleting it revokes them) and returns its kubeconfig.
func remoteUser(t *testing.T, remote *cluster.Cluster, c client.Client, user string) []byte {
	t.Helper()
	must(t, c.Create(context.Background(), &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}))
	kubeconfig, err := remote.UserKubeconfig(user)
	must(t, err)
	return kubeconfig
}

// editAndExpectHealed edits the web-config ConfigMap by hand and waits for self-heal.
func editAndExpectHealed(t *testing.T, c client.Client, ns string) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	cm := &corev1.ConfigMap{}
	g.Eventually(func() error {
		if err := c.Get(ctx, key(ns, "web-config"), cm); err != nil {
			return err
		}
		cm.Data["greeting"] = "edited by hand"
		return c.Update(ctx, cm)
	}, timeout, poll).Should(Succeed())
	edited := time.Now()
	g.Eventually(func(g Gomega) string {
		g.Expect(c.Get(ctx, key(ns, "web-config"), cm)).To(Succeed())
		return cm.Data["greeting"]
	}, timeout, poll).Should(Equal("hello"), "the hand edit in %s is healed", ns)
	t.Logf("hand edit in %s healed after %s", ns, time.Since(edited).Round(time.Millisecond))
}
