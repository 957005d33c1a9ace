package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// statusLimit is well under etcd's default request limit (1.5 MiB), which the whole
// Application, status included, must stay under to be written at all.
const statusLimit = 1 << 20

// manyConfigMaps is one YAML file of n ConfigMaps whose names are 250 characters,
// distinct past a prefix, as generated names are. It is generated, never committed.
func manyConfigMaps(n int) string {
	var b strings.Builder
	for i := range n {
		sum := sha256.Sum256(fmt.Appendf(nil, "%d", i))
		name := (fmt.Sprintf("settings-%05d-", i) + strings.Repeat(hex.EncodeToString(sum[:]), 4))[:250]
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  i: %q\n", name, fmt.Sprint(i))
	}
	return b.String()
}

// TestStatusFitsTenThousandObjects: an Application of 10,000 ConfigMaps with 250-character
// names syncs, its status stays well under the apiserver's request limit (the inventory
// is stored compressed), and a commit keeping 10 prunes the other 9,990 (with the
// mass-prune guard's consent): the inventory was stored and read back whole.
func TestStatusFitsTenThousandObjects(t *testing.T) {
	// In parallel with the other long tests: most of its four minutes the apiserver spends
	// applying and deleting, while theirs are spent waiting for health and bake times.
	t.Parallel()
	const total, kept = 10_000, 10
	g := NewWithT(t)
	e := shared(t)
	f := newFixture(t, e, map[string]string{"apps/many/all.yaml": manyConfigMaps(total)})
	target := createNamespace(t, e)
	app := f.application(t, "many", "apps/many", []landfallv1.Environment{{Name: "prod", Namespace: target}},
		func(s *landfallv1.ApplicationSpec) { s.AllowMassPrune = true })
	long := 10 * time.Minute
	start := time.Now()
	g.Eventually(func(g Gomega) { expectSynced(g, f.get(g, app), f.srv.Head(t, "refs/heads/main")) }, long, time.Second).
		Should(Succeed())
	t.Logf("%d objects synced in %s", total, time.Since(start).Round(time.Second))

	got := f.get(g, app)
	raw, err := json.Marshal(got)
	must(t, err)
	g.Expect(len(raw)).To(BeNumerically("<", statusLimit), "the Application is %d bytes", len(raw))
	inv := envStatus(g, got, "prod").Inventory
	g.Expect(inv).NotTo(BeNil())
	g.Expect(inv.Count).To(BeEquivalentTo(total))
	g.Expect(inv.Compressed).NotTo(BeEmpty(), "10,000 long names are stored compressed")
	g.Expect(countConfigMaps(g, e.k8s, target)).To(Equal(total))

	removed := f.push(t, write(t, map[string]string{"apps/many/all.yaml": manyConfigMaps(kept)}))
	start = time.Now()
	g.Eventually(func(g Gomega) int { return countConfigMaps(g, e.k8s, target) }, long, time.Second).Should(Equal(kept))
	g.Eventually(func(g Gomega) { expectSynced(g, f.get(g, app), removed) }, timeout, poll).Should(Succeed())
	t.Logf("%d objects pruned in %s", total-kept, time.Since(start).Round(time.Second))
	inv = envStatus(g, f.get(g, app), "prod").Inventory
	g.Expect(inv.Count).To(BeEquivalentTo(kept))
	g.Expect(inv.Compressed).To(BeEmpty(), "10 objects are stored readably")
	g.Expect(inv.Entries).To(HaveLen(1))
}

// countConfigMaps counts the ConfigMaps Landfall manages in ns.
func countConfigMaps(g Gomega, c client.Client, ns string) int {
	list := &corev1.ConfigMapList{}
	g.Expect(c.List(context.Background(), list, client.InNamespace(ns),
		client.MatchingLabels{landfallv1.LabelManaged: "true"})).To(Succeed())
	return len(list.Items)
}
