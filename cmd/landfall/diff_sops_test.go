package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"filippo.io/age"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/render/decrypt/sopsfile"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// TestDiffMasksDecryptedValues: a value decrypted from a SOPS file into a ConfigMap (not
// a Secret, so not masked by its shape) is masked in landfall diff too.
func TestDiffMasksDecryptedValues(t *testing.T) {
	g := NewWithT(t)
	f := controlPlane(t)
	ctx, c, kubeconfig := f.ctx, f.client, f.kubeconfig
	id, err := age.GenerateX25519Identity()
	g.Expect(err).NotTo(HaveOccurred())
	const apiKey = "api-key-from-sops-1234"
	cm, err := sopsfile.Encrypt("cm.enc.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keys}\ndata: {key: "+apiKey+"}\n"),
		[]string{id.Recipient().String()}, sopsfile.EncryptOptions{EncryptedRegex: "^data$"})
	g.Expect(err).NotTo(HaveOccurred())
	const ns = "sops-diff"
	srv := gitserver.New(t, gitserver.Options{})
	srv.Commit(t, "main", map[string]string{"app/cm.enc.yaml": string(cm)})
	createApp(g, c, srv, ns, "sops-diff-staging", func(a *landfallv1.Application) {
		a.Spec.Decryption = &landfallv1.Decryption{SecretRef: landfallv1.LocalObjectReference{Name: "sops-age"}}
	})
	g.Expect(c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sops-age", Namespace: ns},
		StringData: map[string]string{"id.agekey": id.String()}})).To(Succeed())
	live := &corev1.ConfigMap{}
	g.Eventually(func() error {
		return c.Get(ctx, client.ObjectKey{Namespace: "sops-diff-staging", Name: "keys"}, live)
	}, 60*time.Second, 200*time.Millisecond).Should(Succeed())
	g.Expect(live.Data["key"]).To(Equal(apiKey))
	live.Data["key"] = "changed-by-hand-5678"
	g.Expect(c.Update(ctx, live)).To(Succeed())

	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"diff", "shop", "--kubeconfig", kubeconfig, "-n", ns})
	g.Expect(root.ExecuteContext(context.Background())).To(Succeed())
	g.Expect(out.String()).To(ContainSubstring("ConfigMap/sops-diff-staging/keys"))
	g.Expect(out.String()).NotTo(ContainSubstring(apiKey))
}
