package dashboard

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

func TestActivity(t *testing.T) {
	now := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	step := int32(1)
	bake := &metav1.Duration{Duration: 10 * time.Minute}
	cases := []struct {
		name    string
		app     landfallv1.Application
		st      landfallv1.EnvironmentStatus
		want    string
		kind    string
		bakeFor *metav1.Duration
	}{
		{name: "suspended", app: landfallv1.Application{Spec: landfallv1.ApplicationSpec{Suspend: true}}, want: "suspended", kind: "wait"},
		{name: "window", app: landfallv1.Application{Status: landfallv1.ApplicationStatus{Conditions: []metav1.Condition{{
			Type: landfallv1.ConditionReady, Status: "False", Reason: landfallv1.ReasonOutsideSyncWindow, Message: "until 18:00"}}}},
			want: "outside sync window: until 18:00", kind: "wait"},
		{name: "approval step", st: landfallv1.EnvironmentStatus{AwaitingApproval: "main@sha1:0123456789abcdef", AwaitingApprovalStep: &step},
			want: "waiting for approval of 0123456 (canary step 2)", kind: "wait"},
		{name: "pinned", st: landfallv1.EnvironmentStatus{Revision: "main@sha1:aaaaaaaaaa", PinnedRevision: "main@sha1:bbbbbbbbbb"},
			want: "pinned to bbbbbbb by a rollback", kind: "wait"},
		{name: "baking", bakeFor: bake, st: landfallv1.EnvironmentStatus{Revision: "main@sha1:aaaaaaaaaa", Rollout: &landfallv1.RolloutStatus{
			Phase: landfallv1.RolloutBaking, HealthySince: &metav1.Time{Time: now.Add(-4 * time.Minute)}}},
			want: "baking, 6m left", kind: "progress"},
		{name: "canary", st: landfallv1.EnvironmentStatus{Revision: "main@sha1:aaaaaaaaaa", Rollout: &landfallv1.RolloutStatus{
			Phase: landfallv1.RolloutPaused, Weight: 25}}, want: "canary at 25%", kind: "progress"},
		{name: "rolled back", st: landfallv1.EnvironmentStatus{Revision: "main@sha1:aaaaaaaaaa", Rollout: &landfallv1.RolloutStatus{
			Phase: landfallv1.RolloutRolledBack, Message: "Degraded: progress deadline exceeded"}},
			want: "rolled back: Degraded: progress deadline exceeded", kind: "bad"},
		{name: "not deployed", want: "not deployed yet", kind: "wait"},
		{name: "running", st: landfallv1.EnvironmentStatus{Revision: "main@sha1:aaaaaaaaaa", Health: landfallv1.HealthHealthy,
			Sync: landfallv1.SyncSynced, Rollout: &landfallv1.RolloutStatus{Phase: landfallv1.RolloutCompleted}}, want: "running", kind: "ok"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := &landfallv1.Environment{Name: "staging", BakeTime: c.bakeFor}
			got, kind := activity(&c.app, env, &c.st, now)
			if !strings.HasPrefix(got, c.want) || kind != c.kind {
				t.Errorf("activity = %q (%s), want %q (%s)", got, kind, c.want, c.kind)
			}
		})
	}
}

func TestPageOf(t *testing.T) {
	for _, c := range []struct {
		param       string
		total, size int
		page, last  int
	}{
		{"", 0, 50, 1, 1}, {"2", 120, 50, 2, 3}, {"9", 120, 50, 3, 3}, {"-1", 120, 50, 1, 3}, {"x", 1000, 50, 1, 20},
	} {
		if p, l := pageOf(c.param, c.total, c.size); p != c.page || l != c.last {
			t.Errorf("pageOf(%q, %d, %d) = %d, %d; want %d, %d", c.param, c.total, c.size, p, l, c.page, c.last)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	for _, c := range []struct {
		origin, referer string
		want            bool
	}{
		{"http://dash.example:9393", "", true},
		{"http://evil.example", "", false},
		{"", "http://dash.example:9393/applications/a/b", true},
		{"", "", false},
		{"null", "", false},
	} {
		r := httptest.NewRequest("POST", "http://dash.example:9393/x", nil)
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if c.referer != "" {
			r.Header.Set("Referer", c.referer)
		}
		if got := sameOrigin(r); got != c.want {
			t.Errorf("sameOrigin(Origin %q, Referer %q) = %v", c.origin, c.referer, got)
		}
	}
}

// countingAuthz answers from a table and counts the questions: pure logic, no cluster.
type countingAuthz struct {
	allow map[Access]bool
	asked int
}

func (c *countingAuthz) Allowed(_ context.Context, _ *User, a Access) (bool, error) {
	c.asked++
	return c.allow[a], nil
}

func TestCachedAuthAsksNamespaceFirstAndRemembers(t *testing.T) {
	authz := &countingAuthz{allow: map[Access]bool{{Verb: "get", Resource: "applications", Namespace: "team-a"}: true}}
	c := newCachedAuth(nil, authz, time.Minute)
	now := time.Now()
	c.answers.now = func() time.Time { return now }
	u := &User{Name: "alice"}
	for i := 0; i < 100; i++ {
		ok, _ := c.may(context.Background(), u, Access{Verb: "get", Resource: "applications", Namespace: "team-a", Name: "app" + string(rune('a'+i%26))})
		if !ok {
			t.Fatal("a namespace-wide right allows every Application in it")
		}
	}
	if authz.asked != 2 {
		t.Errorf("asked %d times; want 2 (every namespace, then team-a)", authz.asked)
	}
	if ok, _ := c.may(context.Background(), u, Access{Verb: "get", Resource: "applications", Namespace: "team-b", Name: "x"}); ok {
		t.Error("no right in team-b")
	}
	now = now.Add(2 * time.Minute)
	_, _ = c.may(context.Background(), u, Access{Verb: "get", Resource: "applications", Namespace: "team-a", Name: "x"})
	if authz.asked != 6 {
		t.Errorf("asked %d times; want the expired answers asked again (6)", authz.asked)
	}
}

func TestSessions(t *testing.T) {
	s := newSessions()
	now := time.Now()
	s.now = func() time.Time { return now }
	id, ss := s.create("token")
	if s.get(id) != ss || !validCSRF(ss, ss.csrf) || validCSRF(ss, "") || validCSRF(ss, "other") {
		t.Fatal("a fresh session and its CSRF token")
	}
	now = now.Add(sessionTTL + time.Second)
	if s.get(id) != nil {
		t.Error("an expired session is gone")
	}
}
