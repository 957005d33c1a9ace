package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/render/decrypt/sopsfile"
)

// The clear values of the test: each must reach the cluster's objects and nothing else.
const (
	dbPassword1 = "e2e-db-Pa55word-one"
	dbPassword2 = "e2e-db-Pa55word-two"
	dbPassword3 = "e2e-db-Pa55word-three"
	apiKey1     = "e2e-api-key-0ne-sops"
	apiKey2     = "e2e-api-key-tw0-sops"
	feature1    = "e2e-feature-from-secret-one"
	feature2    = "e2e-feature-from-secret-two"
)

// shopChart takes its API key from a SOPS-encrypted values file and its feature from a
// valuesFrom Secret; the Deployment's checksum of both makes a change of either roll it.
// The ConfigMap holds the key in clear on purpose: a decrypted value outside a Secret,
// which only masking by content keeps out of diffs.
var shopChart = map[string]string{
	"apps/shop/Chart.yaml":  "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
	"apps/shop/values.yaml": "image: " + image("v1") + "\napiKey: none\nfeature: none\n",
	"apps/shop/templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  replicas: 1
  progressDeadlineSeconds: 10
  selector: {matchLabels: {app: shop}}
  template:
    metadata:
      labels: {app: shop}
      annotations: {checksum/values: {{ print .Values.apiKey .Values.feature | sha256sum }}}
    spec:
      containers: [{name: shop, image: {{ .Values.image }}}]
`,
	"apps/shop/templates/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: shop-api}\n" +
		"stringData: {apiKey: {{ .Values.apiKey | quote }}, feature: {{ .Values.feature | quote }}}\n",
	"apps/shop/templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shop-settings}\n" +
		"data: {apiKey: {{ .Values.apiKey | quote }}}\n",
}

func ageIdentity(tb testing.TB) (identity, recipient string) {
	tb.Helper()
	id, err := age.GenerateX25519Identity()
	must(tb, err)
	return id.String(), id.Recipient().String()
}

// sopsFile encrypts clear for recipient as `sops --encrypt` would; regex "" encrypts every value.
func sopsFile(tb testing.TB, name, clear, recipient, regex string) string {
	tb.Helper()
	enc, err := sopsfile.Encrypt(name, []byte(clear), []string{recipient}, sopsfile.EncryptOptions{EncryptedRegex: regex})
	must(tb, err)
	return string(enc)
}

func dbSecretFile(tb testing.TB, password, recipient string) map[string]string {
	clear := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: " + password + "\n"
	return map[string]string{"apps/db/secret.enc.yaml": sopsFile(tb, "secret.enc.yaml", clear, recipient, "^(data|stringData)$")}
}

func shopValuesFile(tb testing.TB, apiKey, recipient string) map[string]string {
	return map[string]string{"apps/shop/values-secret.enc.yaml": sopsFile(tb, "values-secret.enc.yaml", "apiKey: "+apiKey+"\n", recipient, "")}
}

func putSecret(g Gomega, c client.Client, ns, name string, data map[string]string) {
	ctx := context.Background()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	err := c.Get(ctx, key(ns, name), s)
	s.Data = map[string][]byte{}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	if err == nil {
		g.Expect(c.Update(ctx, s)).To(Succeed())
		return
	}
	g.Expect(c.Create(ctx, s)).To(Succeed())
}

func secretValue(g Gomega, c client.Client, ns, name, k string) string {
	s := &corev1.Secret{}
	g.Expect(c.Get(context.Background(), key(ns, name), s)).To(Succeed())
	return string(s.Data[k])
}

func expectReadyFalse(g Gomega, app *landfallv1.Application, reason, text string) {
	c := ready(app)
	g.Expect(c).NotTo(BeNil())
	g.Expect(c.Status).To(Equal(metav1.ConditionFalse), "%s", c.Message)
	g.Expect(c.Reason).To(Equal(reason), "%s", c.Message)
	g.Expect(c.Message).To(ContainSubstring(text))
}

// TestSOPSSecrets: an encrypted Secret and an encrypted Helm values file in real Git
// become a plain Secret and applied values on the full cluster; a valuesFrom Secret
// changed re-renders and rolls the chart; a file for another key, a tampered file and a
// missing decryption Secret fail DecryptionFailed and keep what runs; a rotated key
// applies; a rollback to a revision of SOPS values works with Git down. The clear values
// are then searched for in the controller's log, Events, status, /metrics, `landfall
// diff`, every file under the controller's directory (its checkout cache among them) and
// the stored revisions.
func TestSOPSSecrets(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	e := shared(t)
	key1, rcpt1 := ageIdentity(t)
	key2, rcpt2 := ageIdentity(t)
	files := map[string]string{}
	for _, m := range []map[string]string{shopChart, dbSecretFile(t, dbPassword1, rcpt1), shopValuesFile(t, apiKey1, rcpt1)} {
		for k, v := range m {
			files[k] = v
		}
	}
	f := newFixture(t, e, files)
	putSecret(g, e.k8s, f.ns, "sops-age", map[string]string{"identity.agekey": key1})
	putSecret(g, e.k8s, f.ns, "shop-values", map[string]string{"values.yaml": "feature: " + feature1 + "\n"})
	dbNS, shopNS := f.ns+"-db", f.ns+"-shop"
	decryption := &landfallv1.Decryption{SecretRef: landfallv1.LocalObjectReference{Name: "sops-age"}}
	db := f.application(t, "db", "apps/db", []landfallv1.Environment{{Name: "staging", Namespace: dbNS}},
		func(s *landfallv1.ApplicationSpec) { s.Decryption = decryption })
	shop := f.application(t, "shop", "apps/shop", []landfallv1.Environment{{Name: "staging", Namespace: shopNS,
		EnvironmentTemplate: landfallv1.EnvironmentTemplate{ValuesFiles: []string{"values-secret.enc.yaml"},
			ValuesFrom: []landfallv1.ValuesReference{{Kind: "Secret", Name: "shop-values"}}}}},
		func(s *landfallv1.ApplicationSpec) {
			s.Decryption, s.SelfHeal = decryption, false // drift stays, for `landfall diff`
			s.Rollout = &landfallv1.RolloutSpec{HealthTimeout: &metav1.Duration{Duration: healthTimeout}}
		})
	first := revisionOf(f.srv.Head(t, "refs/heads/main"))
	waitCompleted(t, f, db, first, rolloutTimeout, "staging")
	waitCompleted(t, f, shop, first, rolloutTimeout, "staging")
	g.Expect(secretValue(g, e.k8s, dbNS, "db", "password")).To(Equal(dbPassword1), "a plain Secret in the cluster")
	g.Expect(secretValue(g, e.k8s, shopNS, "shop-api", "apiKey")).To(Equal(apiKey1), "the encrypted values applied")
	g.Expect(secretValue(g, e.k8s, shopNS, "shop-api", "feature")).To(Equal(feature1), "the valuesFrom Secret applied")
	rolled := waitRolledOut(g, e.k8s, shopNS, "shop", 1)

	// Drift on the ConfigMap holding the decrypted key: the diff shows the hand edit, never the key.
	cm := &corev1.ConfigMap{}
	g.Expect(e.k8s.Get(ctx, key(shopNS, "shop-settings"), cm)).To(Succeed())
	cm.Data["apiKey"] = "edited-by-hand"
	g.Expect(e.k8s.Update(ctx, cm)).To(Succeed())
	var diffs strings.Builder
	out, err := f.cli(t, "diff", "shop")
	g.Expect(out).To(ContainSubstring("edited-by-hand"), "the diff shows the drift: %v", err)
	diffs.WriteString(out)

	// The valuesFrom Secret changes: no commit, the chart renders again and the Deployment rolls.
	putSecret(g, e.k8s, f.ns, "shop-values", map[string]string{"values.yaml": "feature: " + feature2 + "\n"})
	g.Eventually(func(g Gomega) {
		g.Expect(secretValue(g, e.k8s, shopNS, "shop-api", "feature")).To(Equal(feature2))
		g.Expect(deployment(g, e.k8s, shopNS, "shop").Generation).To(BeNumerically(">", rolled.Generation))
	}, timeout, poll).Should(Succeed())
	waitRolledOut(g, e.k8s, shopNS, "shop", 1)

	// Refusals: each names the file and why, and the running Secret stays.
	refused := func(change map[string]string, text string) {
		t.Helper()
		f.push(t, write(t, change))
		g.Eventually(func(g Gomega) {
			expectReadyFalse(g, f.get(g, db), landfallv1.ReasonDecryptionFailed, text)
		}, timeout, poll).Should(Succeed())
		g.Expect(secretValue(g, e.k8s, dbNS, "db", "password")).To(Equal(dbPassword1), "nothing applied: %s", text)
	}
	refused(dbSecretFile(t, dbPassword2, rcpt2), "none of the decryption keys opens the file")
	tampered := dbSecretFile(t, dbPassword2, rcpt1)
	tampered["apps/db/secret.enc.yaml"] = strings.Replace(tampered["apps/db/secret.enc.yaml"], "name: db", "name: db-tampered", 1)
	refused(tampered, "secret.enc.yaml: the file was changed")
	g.Eventually(func(g Gomega) []string { return eventMessages(g, e.k8s, db, landfallv1.ReasonDecryptionFailed) }, timeout, poll).
		Should(ContainElement(ContainSubstring("secret.enc.yaml")))
	g.Expect(e.k8s.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sops-age", Namespace: f.ns}})).To(Succeed())
	refused(dbSecretFile(t, dbPassword2, rcpt1), "sops-age not found")

	// Rotation: the decryption Secret holds the new key, every file is encrypted for it.
	putSecret(g, e.k8s, f.ns, "sops-age", map[string]string{"identity.agekey": key2})
	rotated := map[string]string{}
	for _, m := range []map[string]string{dbSecretFile(t, dbPassword3, rcpt2), shopValuesFile(t, apiKey2, rcpt2)} {
		for k, v := range m {
			rotated[k] = v
		}
	}
	good := revisionOf(f.push(t, write(t, rotated)))
	waitCompleted(t, f, db, good, rolloutTimeout, "staging")
	waitCompleted(t, f, shop, good, rolloutTimeout, "staging")
	g.Expect(secretValue(g, e.k8s, dbNS, "db", "password")).To(Equal(dbPassword3))
	g.Expect(secretValue(g, e.k8s, shopNS, "shop-api", "apiKey")).To(Equal(apiKey2))
	g.Expect(storedRevision(g, e.k8s, f.get(g, shop), "staging").Data).To(HaveKey("objects.json.gz.age"), "sealed")

	// A bad image; Git goes down; the rollback opens the sealed store with the new key.
	bad := revisionOf(f.push(t, write(t, map[string]string{"apps/shop/values.yaml": "image: " + image("bad") + "\napiKey: none\nfeature: none\n"})))
	g.Eventually(func(g Gomega) string { return imageOf(deployment(g, e.k8s, shopNS, "shop")) }, timeout, poll).Should(Equal(image("bad")))
	f.srv.SetDown(true)
	f.webhook(t)
	expectRolledBack(t, f, shop, "staging", bad, good, "Degraded", "progress deadline exceeded")
	g.Expect(imageOf(waitRolledOut(g, e.k8s, shopNS, "shop", 1))).To(Equal(image("v1")))
	g.Expect(secretValue(g, e.k8s, shopNS, "shop-api", "apiKey")).To(Equal(apiKey2), "the stored revision's decrypted values")
	repo := &landfallv1.Repository{}
	g.Expect(e.k8s.Get(ctx, client.ObjectKeyFromObject(f.repo), repo)).To(Succeed())
	g.Expect(apimeta.FindStatusCondition(repo.Status.Conditions, landfallv1.ConditionReady).Reason).
		To(Equal(landfallv1.ReasonFetchFailed), "Git was down during the rollback")
	f.srv.SetDown(false)

	out, _ = f.cli(t, "diff", "db")
	diffs.WriteString(out)
	expectNowhere(t, g, f, diffs.String(), dbPassword1, dbPassword2, dbPassword3, apiKey1, apiKey2, feature1, feature2)
}

// expectNowhere searches what the controller shows and keeps for the clear values: its
// log, the namespace's Events, the Applications' status, /metrics, the diffs, every file
// under its directory (the checkout cache among them) and the stored revisions, inflated.
func expectNowhere(t *testing.T, g *WithT, f *fixture, diffs string, values ...string) {
	t.Helper()
	none := func(where string, text []byte) {
		for _, v := range values {
			g.Expect(bytes.Contains(text, []byte(v))).To(BeFalse(), "%s holds the clear value %q", where, v)
		}
	}
	none("landfall diff", []byte(diffs))
	apps := &landfallv1.ApplicationList{}
	g.Expect(f.e.k8s.List(context.Background(), apps, client.InNamespace(f.ns))).To(Succeed())
	status, err := json.Marshal(apps)
	g.Expect(err).NotTo(HaveOccurred())
	none("the Applications", status)
	events := &corev1.EventList{}
	g.Expect(f.e.k8s.List(context.Background(), events, client.InNamespace(f.ns))).To(Succeed())
	g.Expect(events.Items).NotTo(BeEmpty())
	for _, ev := range events.Items {
		none("Event "+ev.Reason, []byte(ev.Message))
	}
	resp, err := http.Get("http://" + f.e.ctrl.metricsAddr + "/metrics")
	g.Expect(err).NotTo(HaveOccurred())
	metrics, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(metrics)).To(ContainSubstring(`application="shop"`))
	none("/metrics", metrics)
	// Everything the controller wrote: its log and its cache, checkouts included. The controller
	// is shared with tests running in parallel, whose temporary files (a chart artifact being
	// unpacked) may go between listing and reading: a file that is gone holds nothing.
	n := 0
	g.Expect(filepath.WalkDir(filepath.Dir(f.e.ctrl.logPath), func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		n++
		none(p, data)
		return err
	})).To(Succeed())
	g.Expect(n).To(BeNumerically(">", 2), "the log and the checkout cache were read")
	for i := range apps.Items {
		s := storedRevision(g, f.e.k8s, &apps.Items[i], "staging")
		for k, v := range s.Data {
			none("stored revision "+apps.Items[i].Name+" "+k, v)
			if zr, err := gzip.NewReader(bytes.NewReader(v)); err == nil {
				inflated, _ := io.ReadAll(zr)
				none("stored revision "+apps.Items[i].Name+" "+k+" inflated", inflated)
			}
		}
	}
}
