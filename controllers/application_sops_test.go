//go:build !race

// The SOPS reader links the clients of every cloud key service; instrumented for the race
// detector they would be a third of the packages it compiles, so these tests run without it
// (hack/test.sh runs the !race files of the race packages in a pass of their own).

package controllers_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/render/decrypt/sopsfile"
	"github.com/landfall-dev/landfall/test/tenant"
)

// sopsSecret is the db Secret with password, SOPS-encrypted for recipient (data only).
func sopsSecret(t *testing.T, password, recipient string) string {
	t.Helper()
	clear := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: " + password + "\n"
	enc, err := sopsfile.Encrypt("secret.enc.yaml", []byte(clear), []string{recipient},
		sopsfile.EncryptOptions{EncryptedRegex: "^(data|stringData)$"})
	if err != nil {
		t.Fatal(err)
	}
	return string(enc)
}

func newAgeKey(t *testing.T) (identity, recipient string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id.String(), id.Recipient().String()
}

func putDecryptionSecret(g Gomega, ns, identity string) {
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sops-age", Namespace: ns}}
	err := k8s.Get(context.Background(), client.ObjectKeyFromObject(sec), sec)
	sec.Data = map[string][]byte{"identity.agekey": []byte(identity + "\n")}
	if err == nil {
		g.Expect(k8s.Update(context.Background(), sec)).To(Succeed())
		return
	}
	g.Expect(k8s.Create(context.Background(), sec)).To(Succeed())
}

func decryptionFailed(g Gomega, f *fixture, text string) {
	notReady(g, f, landfallv1.ReasonDecryptionFailed, text)
}

// TestSOPSSecrets: an encrypted Secret in Git becomes a plain Secret in the cluster; the
// clear password reaches no status, Event, log line, checkout cache file or stored
// revision. A tampered file, a file for another key and a missing decryption Secret fail
// with DecryptionFailed and apply nothing; a rotated key applies; a rollback to a revision
// of SOPS Secrets works with Git down, from the sealed store.
func TestSOPSSecrets(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	managerLog.start(t)
	key1, rcpt1 := newAgeKey(t)
	key2, rcpt2 := newAgeKey(t)
	ns := newNamespace(t)
	putDecryptionSecret(g, ns, key1)
	const pw1, pw2, pw3 = "first-Pa55word-value", "second-Pa55word-value", "third-Pa55word-value"
	f := newFixtureIn(t, ns, map[string]string{"apps/web/configmap.yaml": configMapYAML,
		"apps/web/secret.enc.yaml": sopsSecret(t, pw1, rcpt1)}, func(a *landfallv1.Application) {
		a.Spec.Decryption = &landfallv1.Decryption{SecretRef: landfallv1.LocalObjectReference{Name: "sops-age"}}
		a.Spec.Rollout = &landfallv1.RolloutSpec{HealthTimeout: &metav1.Duration{Duration: 3 * time.Second}}
	})
	target := ns + "-staging"
	good := "main@sha1:" + f.srv.Head(t, "refs/heads/main")
	g.Eventually(func(g Gomega) {
		completed(g, f.get(g), "staging", good)
		g.Expect(dbPassword(g, target)).To(Equal(pw1))
	}, timeout, poll).Should(Succeed())
	stores := storedRevisions(g, ns)
	g.Expect(stores).To(HaveLen(1))
	g.Expect(stores[0].Data).To(HaveKey("objects.json.gz.age"), "sealed, since the revision was decrypted")
	g.Expect(stores[0].Data).NotTo(HaveKey("objects.json.gz"))

	// Changed after encryption: refused, the file named, the running Secret kept.
	f.push(t, writeFile(g, "apps/web/secret.enc.yaml",
		strings.Replace(sopsSecret(t, pw2, rcpt1), "name: db", "name: db-tampered", 1)))
	g.Eventually(func(g Gomega) { decryptionFailed(g, f, "secret.enc.yaml: the file was changed") }, timeout, poll).Should(Succeed())
	g.Consistently(func(g Gomega) { g.Expect(dbPassword(g, target)).To(Equal(pw1)) }, time.Second, poll).Should(Succeed())

	// Encrypted for a key the Secret does not hold.
	f.push(t, writeFile(g, "apps/web/secret.enc.yaml", sopsSecret(t, pw2, rcpt2)))
	g.Eventually(func(g Gomega) { decryptionFailed(g, f, "none of the decryption keys opens the file") }, timeout, poll).Should(Succeed())
	g.Eventually(func(g Gomega) bool { return hasEventWith(g, ns, landfallv1.ReasonDecryptionFailed, "secret.enc.yaml") },
		timeout, poll).Should(BeTrue(), "the Event may come a moment after the status")

	// The decryption Secret gone.
	g.Expect(k8s.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sops-age", Namespace: ns}})).To(Succeed())
	f.push(t, writeFile(g, "apps/web/secret.enc.yaml", sopsSecret(t, pw2, rcpt1)))
	g.Eventually(func(g Gomega) { decryptionFailed(g, f, "sops-age not found") }, timeout, poll).Should(Succeed())
	g.Expect(dbPassword(g, target)).To(Equal(pw1), "nothing applied")

	// Key rotation: the Secret holds the new key, the file is encrypted for it.
	putDecryptionSecret(g, ns, key2)
	rotated := "main@sha1:" + f.push(t, writeFile(g, "apps/web/secret.enc.yaml", sopsSecret(t, pw3, rcpt2)))
	g.Eventually(func(g Gomega) {
		completed(g, f.get(g), "staging", rotated)
		g.Expect(dbPassword(g, target)).To(Equal(pw3))
	}, timeout, poll).Should(Succeed())

	// A bad revision; Git goes down; the rollback opens the sealed store with the keys.
	f.push(t, writeFile(g, "apps/web/deployment.yaml", deploymentYAML))
	g.Eventually(exists(target, "web", &appsv1.Deployment{}), timeout, poll).Should(Succeed())
	f.srv.SetDown(true)
	g.Eventually(func(g Gomega) {
		st := envStatus(g, f.get(g), "staging")
		g.Expect(st.Rollout.Phase).To(Equal(landfallv1.RolloutRolledBack))
		g.Expect(st.Revision).To(Equal(rotated))
	}, 30*time.Second, poll).Should(Succeed())
	g.Expect(dbPassword(g, target)).To(Equal(pw3))

	assertNowhere(t, g, f, pw1, pw2, pw3)
}

// assertNowhere greps what the controller shows and keeps for the clear values.
func assertNowhere(t *testing.T, g Gomega, f *fixture, values ...string) {
	t.Helper()
	app := f.get(g)
	status, err := json.Marshal(app.Status)
	g.Expect(err).NotTo(HaveOccurred())
	events := &corev1.EventList{}
	g.Expect(k8s.List(context.Background(), events, client.InNamespace(f.ns))).To(Succeed())
	var stored bytes.Buffer
	for _, s := range storedRevisions(g, f.ns) {
		for _, v := range s.Data {
			stored.Write(v)
			// A gzipped value is read inflated: the clear text must not be in it either.
			if zr, err := gzip.NewReader(bytes.NewReader(v)); err == nil {
				_, _ = io.Copy(&stored, zr)
			}
		}
	}
	var cached bytes.Buffer
	g.Expect(filepath.WalkDir(cacheDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		cached.Write(data)
		return err
	})).To(Succeed())
	g.Expect(cached.Len()).To(BeNumerically(">", 0), "the checkout cache was read")
	g.Expect(managerLog.String()).To(ContainSubstring("staging"), "the manager's log was recorded")
	for _, v := range values {
		g.Expect(string(status)).NotTo(ContainSubstring(v), "status")
		for _, e := range events.Items {
			g.Expect(e.Message).NotTo(ContainSubstring(v), "Event "+e.Reason)
		}
		g.Expect(stored.String()).NotTo(ContainSubstring(v), "stored revision")
		g.Expect(cached.String()).NotTo(ContainSubstring(v), "checkout cache")
		g.Expect(managerLog.String()).NotTo(ContainSubstring(v), "log")
	}
	g.Expect(apimeta.FindStatusCondition(app.Status.Conditions, landfallv1.ConditionReady)).NotTo(BeNil())
}

// TestSOPSDecryptionSecretReadAsServiceAccount: an Application that deploys as a
// ServiceAccount reads its decryption Secret with that ServiceAccount's rights, never the
// controller's: without them, DecryptionFailed naming the refusal; granted, it syncs.
func TestSOPSDecryptionSecretReadAsServiceAccount(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	key, rcpt := newAgeKey(t)
	ns := newNamespace(t)
	target := ns + "-staging"
	g.Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: target}})).To(Succeed())
	g.Expect(k8s.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: ns}})).To(Succeed())
	grant(t, target, ns, "deployer", "deploy", rbacv1.PolicyRule{APIGroups: []string{""},
		Resources: []string{"configmaps", "secrets"}, Verbs: tenant.AllVerbs})
	putDecryptionSecret(g, ns, key)
	const pw = "tenant-Pa55word-value"
	f := newFixtureIn(t, ns, map[string]string{"apps/web/secret.enc.yaml": sopsSecret(t, pw, rcpt)}, func(a *landfallv1.Application) {
		a.Spec.ServiceAccountName = "deployer"
		a.Spec.Decryption = &landfallv1.Decryption{SecretRef: landfallv1.LocalObjectReference{Name: "sops-age"}}
	})
	g.Eventually(func(g Gomega) {
		decryptionFailed(g, f, `User "system:serviceaccount:`+ns+`:deployer" cannot get resource "secrets"`)
	}, timeout, poll).Should(Succeed())
	g.Expect(apierrors.IsNotFound(exists(target, "db", &corev1.Secret{})())).To(BeTrue(), "nothing applied")

	grant(t, ns, ns, "deployer", "decryption", rbacv1.PolicyRule{APIGroups: []string{""},
		Resources: []string{"secrets"}, ResourceNames: []string{"sops-age"}, Verbs: []string{"get"}})
	f.update(g, func(a *landfallv1.Application) {
		a.Annotations = map[string]string{landfallv1.AnnotationSyncRequestedAt: "1"}
	})
	g.Eventually(func(g Gomega) { g.Expect(dbPassword(g, target)).To(Equal(pw)) }, timeout, poll).Should(Succeed())
}
