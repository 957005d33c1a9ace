package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// outageObjects is how many ConfigMaps the commit changes: enough that applying them takes
// long enough for the apiserver to die in the middle.
const outageObjects = 200

// TestAPIServerOutage kills the apiserver in the middle of a sync and starts it again. The
// controller process keeps running, nothing is pruned (every object keeps its UID), and
// once the apiserver is back the Application recovers and completes the commit. It has a
// cluster of its own: the outage would disturb other tests.
func TestAPIServerOutage(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	e := newEnv(t, "outage")
	f := newFixture(t, e, configMaps(outageObjects, "1"))
	target := f.ns + "-staging"
	app := f.syncedApplication(t, "many", "apps/many", "staging", target)
	before, rv := configMapUIDs(g, e.k8s, target)
	g.Expect(before).To(HaveLen(outageObjects))

	w, err := e.cluster.Clientset().CoreV1().ConfigMaps(target).Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
	must(t, err)
	defer w.Stop()
	commit := f.push(t, write(t, configMaps(outageObjects, "2")))
	seen := waitFirstUpdate(t, w, "2")
	must(t, e.cluster.StopAPIServer())
	down := time.Now()
	mark := e.ctrl.logSize()
	t.Logf("apiserver killed after the watch saw %d of %d ConfigMaps updated", seen, outageObjects)

	// The controller notices the outage in the middle of syncing the Application, and lives on.
	g.Eventually(func() string { return applicationErrors(e.ctrl.logSince(mark, 1<<20)) }, timeout, poll).
		ShouldNot(BeEmpty(), "the Application's sync failed against the dead apiserver")
	g.Expect(e.ctrl.alive()).To(BeTrue(), "the controller process survives the outage")
	pid := e.ctrl.pid()

	restartCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	must(t, e.cluster.StartAPIServer(restartCtx))
	up := time.Now()
	t.Logf("apiserver down for %s", up.Sub(down).Round(time.Millisecond))
	g.Eventually(func(g Gomega) {
		expectSynced(g, f.get(g, app), commit)
		list := &corev1.ConfigMapList{}
		g.Expect(e.k8s.List(ctx, list, client.InNamespace(target), client.MatchingLabels{landfallv1.LabelManaged: "true"})).To(Succeed())
		for _, cm := range list.Items {
			g.Expect(cm.Data).To(HaveKeyWithValue("generation", "2"), cm.Name)
		}
	}, 2*timeout, 200*time.Millisecond).Should(Succeed())
	t.Logf("recovered %s after the apiserver came back", time.Since(up).Round(time.Millisecond))
	after, _ := configMapUIDs(g, e.k8s, target)
	g.Expect(after).To(Equal(before), "no ConfigMap was deleted (pruned) or re-created")
	g.Expect(e.ctrl.alive()).To(BeTrue())
	g.Expect(e.ctrl.pid()).To(Equal(pid))
}

// configMaps is an app of n ConfigMaps (one file) whose data carries generation.
func configMaps(n int, generation string) map[string]string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%03d\ndata:\n  generation: %q\n", i, generation)
	}
	return map[string]string{"apps/many/configmaps.yaml": b.String()}
}

// configMapUIDs returns the UIDs of Landfall's ConfigMaps in ns by name, and the list's
// resourceVersion to watch from.
func configMapUIDs(g *WithT, c client.Client, ns string) (map[string]types.UID, string) {
	list := &corev1.ConfigMapList{}
	g.Expect(c.List(context.Background(), list, client.InNamespace(ns),
		client.MatchingLabels{landfallv1.LabelManaged: "true"})).To(Succeed())
	uids := map[string]types.UID{}
	for _, cm := range list.Items {
		uids[cm.Name] = cm.UID
	}
	return uids, list.ResourceVersion
}

// waitFirstUpdate waits for a ConfigMap with the new generation and returns how many the
// watch has seen updated so far.
func waitFirstUpdate(t *testing.T, w watch.Interface, generation string) int {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("the ConfigMap watch ended before the sync began")
			}
			if cm, isCM := ev.Object.(*corev1.ConfigMap); isCM && cm.Data["generation"] == generation {
				return 1 + drained(w, generation)
			}
		case <-deadline:
			t.Fatalf("no ConfigMap reached generation %s within %s", generation, timeout)
		}
	}
}

// drained counts the updates already waiting in the watch, without blocking.
func drained(w watch.Interface, generation string) int {
	n := 0
	for {
		select {
		case ev := <-w.ResultChan():
			if cm, ok := ev.Object.(*corev1.ConfigMap); ok && cm.Data["generation"] == generation {
				n++
			}
		default:
			return n
		}
	}
}

// applicationErrors returns the controller's log lines that report a failed Application
// reconcile.
func applicationErrors(log string) string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `"controller": "application"`) &&
			(strings.Contains(line, "Reconciler error") || strings.Contains(line, "Sync failed")) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
