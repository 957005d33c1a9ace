package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// TestDenyWindow: while a deny window is active nothing is applied and the status says why;
// when the window is over (no event, only the clock) the commit is applied; a window added
// later holds a new push back until it is removed.
func TestDenyWindow(t *testing.T) {
	t.Parallel() // most of it is waiting for the window to end
	g := NewWithT(t)
	ctx := context.Background()
	e := shared(t)
	f := newFixture(t, e, testdata(t, "web", "apps/web"))
	target := f.ns + "-staging"

	// A deny window that began at the start of this minute and ends 45 s from now: long
	// enough for a loaded machine to see the hold while it lasts.
	now := time.Now().UTC()
	ends := now.Truncate(time.Second).Add(45 * time.Second)
	began := now.Truncate(time.Minute)
	window := landfallv1.SyncWindow{Kind: landfallv1.SyncWindowDeny, TimeZone: "UTC",
		Schedule: fmt.Sprintf("%d %d * * *", began.Minute(), began.Hour()),
		Duration: metav1.Duration{Duration: ends.Sub(began)}}
	app := f.application(t, "web", "apps/web", []landfallv1.Environment{{Name: "staging", Namespace: target}},
		func(s *landfallv1.ApplicationSpec) { s.SyncWindows = []landfallv1.SyncWindow{window} })
	expectHeld(t, g, f, app)
	g.Expect(time.Now()).To(BeTemporally("<", ends), "the hold was seen while the window was active")
	g.Expect(apierrors.IsNotFound(e.k8s.Get(ctx, key("", target), &corev1.Namespace{}))).To(BeTrue(),
		"nothing applied, not even the namespace")

	g.Eventually(func(g Gomega) { expectSynced(g, f.get(g, app), f.srv.Head(t, "refs/heads/main")) },
		time.Until(ends)+timeout, poll).Should(Succeed())
	g.Expect(time.Now()).To(BeTemporally(">=", ends), "applied only once the window was over")
	t.Logf("deny window over at %s, applied %s later", ends.Format(time.TimeOnly), time.Since(ends).Round(time.Millisecond))
	g.Expect(e.k8s.Get(ctx, key(target, "web"), &appsv1.Deployment{})).To(Succeed())

	// A deny window that is always active holds a new push back until it is removed.
	always := landfallv1.SyncWindow{Kind: landfallv1.SyncWindowDeny, Schedule: "* * * * *", Duration: metav1.Duration{Duration: time.Hour}}
	f.waitObserved(g, app, f.updateSpec(g, app, func(s *landfallv1.ApplicationSpec) { s.SyncWindows = []landfallv1.SyncWindow{always} }))
	cm := testdata(t, "web", "apps/web")["apps/web/configmap.yaml"]
	commit := f.push(t, write(t, map[string]string{"apps/web/configmap.yaml": strings.Replace(cm, "hello", "held", 1)}))
	g.Eventually(func(g Gomega) {
		g.Expect(envStatus(g, f.get(g, app), "staging").DesiredRevision).To(HaveSuffix(commit))
	}, timeout, poll).Should(Succeed())
	expectHeld(t, g, f, app)
	live := &corev1.ConfigMap{}
	g.Expect(e.k8s.Get(ctx, key(target, "web-config"), live)).To(Succeed())
	g.Expect(live.Data).To(HaveKeyWithValue("greeting", "hello"), "the held commit is not applied")

	f.updateSpec(g, app, func(s *landfallv1.ApplicationSpec) { s.SyncWindows = nil })
	g.Eventually(func(g Gomega) {
		expectSynced(g, f.get(g, app), commit)
		g.Expect(e.k8s.Get(ctx, key(target, "web-config"), live)).To(Succeed())
		g.Expect(live.Data).To(HaveKeyWithValue("greeting", "held"))
	}, timeout, poll).Should(Succeed())
}

// expectHeld waits for Ready=False with reason OutsideSyncWindow and an OutOfSync environment.
func expectHeld(t *testing.T, g *WithT, f *fixture, app *landfallv1.Application) {
	t.Helper()
	g.Eventually(func(g Gomega) {
		got := f.get(g, app)
		cond := ready(got)
		g.Expect(cond).NotTo(BeNil())
		g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cond.Reason).To(Equal(landfallv1.ReasonOutsideSyncWindow))
		g.Expect(cond.Message).To(ContainSubstring("deny window"))
		st := envStatus(g, got, "staging")
		g.Expect(st.Sync).To(Equal(landfallv1.SyncOutOfSync))
		g.Expect(st.Message).To(ContainSubstring("deny window"))
	}, timeout, poll).Should(Succeed())
}
