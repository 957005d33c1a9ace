package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/test/gitserver"
)

const healthyApps = 10

// hostileFiles are ten small applications and a chart whose template asks for 600 MB.
func hostileFiles(generation string) map[string]string {
	files := map[string]string{
		"apps/hostile/Chart.yaml":               "apiVersion: v2\nname: hostile\nversion: 0.1.0\n",
		"apps/hostile/templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hostile\ndata:\n  v: {{ repeat 600000000 \"x\" | quote }}\n",
	}
	for i := range healthyApps {
		files[fmt.Sprintf("apps/app-%d/configmap.yaml", i)] = fmt.Sprintf(
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {generation: %q}\n", generation)
	}
	return files
}

// TestHostileInputsLeaveOthersSyncing: a Repository on a Git server that sends a 2 GiB
// object and an Application whose chart asks for 600 MB fail with conditions naming their
// limits, while the controller stays up (same process, peak memory under the chart's 1 GiB
// limit) and ten healthy Applications deploy a new commit.
func TestHostileInputsLeaveOthersSyncing(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	e := shared(t)
	pid := e.ctrl.pid()
	f := newFixture(t, e, hostileFiles("one"))
	var apps []*landfallv1.Application
	for i := range healthyApps {
		apps = append(apps, f.application(t, fmt.Sprintf("app-%d", i), fmt.Sprintf("apps/app-%d", i),
			[]landfallv1.Environment{{Name: "prod", Namespace: fmt.Sprintf("%s-%d", f.ns, i)}}, nil))
	}
	hostileApp := f.application(t, "hostile", "apps/hostile",
		[]landfallv1.Environment{{Name: "prod", Namespace: f.ns + "-hostile"}}, nil)
	hostileRepo := &landfallv1.Repository{
		ObjectMeta: metav1.ObjectMeta{Name: "hostile", Namespace: f.ns},
		Spec: landfallv1.RepositorySpec{URL: gitserver.NewHostile(t, gitserver.BigObject).URL,
			Ref: landfallv1.GitRef{Branch: "main"}, Insecure: true},
	}
	must(t, e.k8s.Create(ctx, hostileRepo))

	g.Eventually(func(g Gomega) {
		got := &landfallv1.Repository{}
		g.Expect(e.k8s.Get(ctx, client.ObjectKeyFromObject(hostileRepo), got)).To(Succeed())
		c := apimeta.FindStatusCondition(got.Status.Conditions, landfallv1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(landfallv1.ReasonLimitExceeded))
		g.Expect(c.Message).To(ContainSubstring("MaxObjectBytes"))
	}, timeout, poll).Should(Succeed())
	g.Eventually(func(g Gomega) {
		c := ready(f.get(g, hostileApp))
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(landfallv1.ReasonLimitExceeded))
		g.Expect(c.Message).To(ContainSubstring("memory limit"))
	}, timeout, poll).Should(Succeed())
	first := f.srv.Head(t, "refs/heads/main")
	for _, app := range apps {
		g.Eventually(func(g Gomega) { expectSynced(g, f.get(g, app), first) }, timeout, poll).Should(Succeed())
	}

	commit := f.push(t, write(t, hostileFiles("two")))
	for i, app := range apps {
		g.Eventually(func(g Gomega) {
			expectSynced(g, f.get(g, app), commit)
			cm := &corev1.ConfigMap{}
			g.Expect(e.k8s.Get(ctx, key(fmt.Sprintf("%s-%d", f.ns, i), "app"), cm)).To(Succeed())
			g.Expect(cm.Data).To(HaveKeyWithValue("generation", "two"))
		}, timeout, poll).Should(Succeed())
	}
	g.Expect(e.ctrl.alive()).To(BeTrue(), "the controller is still running")
	g.Expect(e.ctrl.pid()).To(Equal(pid), "the controller was not restarted")
	_, peak, err := e.ctrl.memory()
	g.Expect(err).NotTo(HaveOccurred())
	t.Logf("controller peak RSS since it started: %d MiB", peak>>20)
	g.Expect(peak).To(BeNumerically("<", int64(1<<30)), "the controller's peak memory is under the chart's 1Gi limit")
}

// BenchmarkPushDuringAttack measures push → last object applied for a healthy app, 10
// pushes without and 10 during an attack: three Repositories on hostile Git servers (a
// 2 GiB object, an endless shallow answer, an endless ref advertisement) polled every
// second, and an Application whose chart asks for 600 MB, asked to sync every second. It
// reports both p50s side by side and the controller's peak RSS.
func BenchmarkPushDuringAttack(b *testing.B) {
	ctx := context.Background()
	e := shared(b)
	web := testdata(b, "web", "apps/bench")
	files := stampFiles(b, web, 0)
	for k, v := range hostileFiles("one") {
		files[k] = v
	}
	f := newFixture(b, e, files)
	target := f.ns + "-bench"
	f.syncedApplication(b, "bench", "apps/bench", "bench", target)
	resources := webResources
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	tracker, err := trackStamps(waitCtx, e.cluster.Config, target, resources...)
	must(b, err)
	n := 0
	pushes := func(count int) []time.Duration {
		var samples []time.Duration
		for range count {
			n++
			f.srv.CommitChange(b, "main", write(b, stampFiles(b, web, n)))
			pushed := time.Now()
			f.webhook(b)
			last, err := tracker.wait(waitCtx, n, len(resources))
			if err != nil {
				b.Fatalf("push %d: %v", n, err)
			}
			samples = append(samples, last.Sub(pushed))
		}
		return samples
	}

	b.ResetTimer()
	quiet := pushes(10)
	stopAttack := attack(b, f)
	under := pushes(10)
	stopAttack()
	b.StopTimer()
	_, peak, err := e.ctrl.memory()
	must(b, err)
	b.ReportMetric(ms(percentile(quiet, 50)), "p50_ms_quiet")
	b.ReportMetric(ms(percentile(under, 50)), "p50_ms_attack")
	b.ReportMetric(float64(peak)/(1<<20), "controller_peak_RSS_MB")
	b.Logf("healthy push → applied, p50: %s without an attack, %s during it (p99 %s, %s); controller peak RSS %d MiB",
		percentile(quiet, 50).Round(time.Millisecond), percentile(under, 50).Round(time.Millisecond),
		percentile(quiet, 99).Round(time.Millisecond), percentile(under, 99).Round(time.Millisecond), peak>>20)
}

// attack starts hostile Repositories polled every second and a hostile Application asked to
// sync every second, until the returned stop is called.
func attack(b *testing.B, f *fixture) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	for _, a := range []gitserver.Attack{gitserver.BigObject, gitserver.ShallowFlood, gitserver.RefFlood} {
		must(b, f.e.k8s.Create(ctx, &landfallv1.Repository{
			ObjectMeta: metav1.ObjectMeta{Name: "hostile-" + string(a), Namespace: f.ns},
			Spec: landfallv1.RepositorySpec{URL: gitserver.NewHostile(b, a).URL, Ref: landfallv1.GitRef{Branch: "main"},
				Insecure: true, Interval: &metav1.Duration{Duration: time.Second}},
		}))
	}
	hostile := f.application(b, "hostile", "apps/hostile", []landfallv1.Environment{{Name: "prod", Namespace: f.ns + "-hostile"}}, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				patch := client.RawPatch(types.MergePatchType, []byte(fmt.Sprintf(
					`{"metadata":{"annotations":{%q:%q}}}`, landfallv1.AnnotationSyncRequestedAt, now.Format(time.RFC3339Nano))))
				_ = f.e.k8s.Patch(ctx, hostile.DeepCopy(), patch)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
