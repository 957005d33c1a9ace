package controllers

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/sync/source/webhook"
)

func TestPullRequestOf(t *testing.T) {
	cases := []struct {
		ref    string
		number int64
		branch string
	}{
		{"refs/pull/12/head", 12, "pull/12/head"},
		{"refs/merge-requests/3/head", 3, "merge-requests/3/head"},
		{"refs/heads/feature/login", 0, "feature/login"},
		{"refs/pull/abc/head", 0, "pull/abc/head"},
		{"refs/pull/0/head", 0, "pull/0/head"},
	}
	for _, tc := range cases {
		pr := pullRequestOf(tc.ref, "4f2c9e1aa")
		if pr.Number != tc.number || pr.Branch != tc.branch {
			t.Errorf("pullRequestOf(%s) = %+v, want number %d branch %q", tc.ref, pr, tc.number, tc.branch)
		}
		if pr.vars().ShortSHA != "4f2c9e1" {
			t.Errorf("ShortSHA = %q", pr.vars().ShortSHA)
		}
	}
}

// states returns "ref:State" for each entry, in order.
func states(entries []landfallv1.PreviewEntry) string {
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(strings.TrimPrefix(e.Ref, "refs/pull/"), "/head")+":"+string(e.State))
	}
	return strings.Join(out, " ")
}

func heads(refs ...string) map[string]string {
	out := map[string]string{}
	for i := 0; i+1 < len(refs); i += 2 {
		out[refs[i]] = refs[i+1]
	}
	return out
}

func TestPlanPreviewsLimitsAndKeepsRunningOnes(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	three := heads("refs/pull/3/head", "c3", "refs/pull/1/head", "c1", "refs/pull/2/head", "c2")
	first := planPreviews(planInput{Heads: three, Now: now, Max: 2})
	if got := states(first); got != "1:Running 2:Running 3:Waiting" {
		t.Fatalf("lowest numbers run first: %s", got)
	}
	if !strings.Contains(first[2].Message, "maxPreviews (2)") {
		t.Errorf("the waiting message names the limit: %q", first[2].Message)
	}
	if first[0].Revision != "refs/pull/1/head@sha1:c1" || !first[0].UpdatedAt.Time.Equal(now) {
		t.Errorf("entry 1 = %+v", first[0])
	}

	// A lower number appearing later does not push a running preview out.
	withZero := heads("refs/pull/1/head", "c1", "refs/pull/2/head", "c2", "refs/pull/3/head", "c3", "refs/heads/x", "cx")
	second := planPreviews(planInput{Previous: first, Heads: withZero, Now: now.Add(time.Minute), Max: 2})
	if got := states(second); got != "refs/heads/x:Waiting 1:Running 2:Running 3:Waiting" {
		t.Fatalf("running ones keep their place: %s", got)
	}
	if !second[1].UpdatedAt.Time.Equal(now) {
		t.Errorf("an unchanged head keeps its time: %v", second[1].UpdatedAt)
	}

	// PR 1's ref is gone: its entry goes and the lowest waiting number starts.
	third := planPreviews(planInput{Previous: second, Heads: heads("refs/pull/2/head", "c2", "refs/pull/3/head", "c3",
		"refs/heads/x", "cx"), Now: now.Add(2 * time.Minute), Max: 2})
	if got := states(third); got != "refs/heads/x:Running 2:Running 3:Waiting" {
		t.Fatalf("after PR 1 went: %s", got)
	}
}

func TestPlanPreviewsClosedAndReopened(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	two := heads("refs/pull/1/head", "c1", "refs/pull/2/head", "c2")
	running := planPreviews(planInput{Heads: two, Now: now, Max: 10})
	running[0].Namespace, running[0].Application = "shop-pr-1", "shop-pr-1"

	closed := planPreviews(planInput{Previous: running, Heads: two, Now: now, Max: 10,
		Events: map[int64]webhook.Action{1: webhook.Closed}})
	if got := states(closed); got != "1:Closed 2:Running" {
		t.Fatalf("closed: %s", got)
	}
	if closed[0].Namespace != "" || closed[0].Application != "" || !strings.Contains(closed[0].Message, "closed") {
		t.Errorf("a closed entry names no children and says why: %+v", closed[0])
	}
	// Git hosts keep a closed pull request's ref: it stays closed while its head stays.
	still := planPreviews(planInput{Previous: closed, Heads: two, Now: now.Add(time.Hour), Max: 10})
	if got := states(still); got != "1:Closed 2:Running" {
		t.Fatalf("still closed: %s", got)
	}
	reopened := planPreviews(planInput{Previous: still, Heads: two, Now: now.Add(time.Hour), Max: 10,
		Events: map[int64]webhook.Action{1: webhook.Reopened}})
	if got := states(reopened); got != "1:Running 2:Running" {
		t.Fatalf("reopened: %s", got)
	}
	moved := planPreviews(planInput{Previous: still, Heads: heads("refs/pull/1/head", "c1b", "refs/pull/2/head", "c2"),
		Now: now.Add(time.Hour), Max: 10})
	if got := states(moved); got != "1:Running 2:Running" {
		t.Fatalf("a new head reopens: %s", got)
	}
}

func TestPlanPreviewsTTL(t *testing.T) {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ttl := time.Hour
	two := heads("refs/pull/1/head", "c1", "refs/pull/2/head", "c2")
	first := planPreviews(planInput{Heads: two, Now: start, TTL: ttl, Max: 1})
	if d := nextExpiry(first, ttl, start.Add(10*time.Minute)); d != 50*time.Minute {
		t.Errorf("next expiry in %s, want 50m", d)
	}
	// PR 2 moves at +30m; at +61m PR 1 is stale, PR 2 is not, and takes the free place.
	moved := planPreviews(planInput{Previous: first, Heads: heads("refs/pull/1/head", "c1", "refs/pull/2/head", "c2b"),
		Now: start.Add(30 * time.Minute), TTL: ttl, Max: 1})
	later := planPreviews(planInput{Previous: moved, Heads: heads("refs/pull/1/head", "c1", "refs/pull/2/head", "c2b"),
		Now: start.Add(61 * time.Minute), TTL: ttl, Max: 1})
	if got := states(later); got != "1:Expired 2:Running" {
		t.Fatalf("after the TTL: %s", got)
	}
	if !strings.Contains(later[0].Message, "1h0m0s") {
		t.Errorf("the message names the TTL: %q", later[0].Message)
	}
	// Expired stays expired (no flapping back), until its head changes.
	again := planPreviews(planInput{Previous: later, Heads: heads("refs/pull/1/head", "c1", "refs/pull/2/head", "c2b"),
		Now: start.Add(62 * time.Minute), TTL: ttl, Max: 2})
	if got := states(again); got != "1:Expired 2:Running" {
		t.Fatalf("expired stays: %s", got)
	}
	revived := planPreviews(planInput{Previous: again, Heads: heads("refs/pull/1/head", "c1b", "refs/pull/2/head", "c2b"),
		Now: start.Add(63 * time.Minute), TTL: ttl, Max: 2})
	if got := states(revived); got != "1:Running 2:Running" {
		t.Fatalf("a new head revives: %s", got)
	}
	if nextExpiry(revived, 0, start) != 0 {
		t.Error("no TTL, no expiry")
	}
	stale := []landfallv1.PreviewEntry{{State: landfallv1.PreviewRunning, UpdatedAt: &metav1.Time{Time: start}}}
	if d := nextExpiry(stale, ttl, start.Add(2*time.Hour)); d != time.Second {
		t.Errorf("an overdue expiry comes back at once (1s), got %s", d)
	}
}
