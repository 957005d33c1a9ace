package controllers

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/sync/source"
	"github.com/landfall-dev/landfall/sync/source/webhook"
)

// pullRequest is one ref that matched a Preview's globs.
type pullRequest struct {
	Number int64 // 0 for a branch
	Ref    string
	Branch string
	Commit string
}

// pullRequestOf reads a ref: refs/pull/<n>/head and refs/merge-requests/<n>/head (any
// refs/<kind>/<n>/<name>) carry a number; refs/heads/<branch> is a branch.
func pullRequestOf(ref, commit string) pullRequest {
	pr := pullRequest{Ref: ref, Commit: commit, Branch: strings.TrimPrefix(ref, "refs/")}
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		pr.Branch = b
		return pr
	}
	if parts := strings.Split(ref, "/"); len(parts) == 4 {
		if n, err := strconv.ParseInt(parts[2], 10, 64); err == nil && n > 0 {
			pr.Number = n
		}
	}
	return pr
}

func (pr pullRequest) revision() string {
	return source.Revision{Ref: pr.Ref, Commit: pr.Commit}.String()
}

func (pr pullRequest) vars() namespaceVars {
	return namespaceVars{Number: pr.Number, Branch: pr.Branch, ShortSHA: pr.Commit[:min(7, len(pr.Commit))]}
}

// planInput is what decides which previews run.
type planInput struct {
	// Previous is the last status.
	Previous []landfallv1.PreviewEntry
	// Heads are the matching refs the remote advertises now, ref → commit.
	Heads map[string]string
	// Events are the pull-request webhook actions received since the last plan, by number;
	// the latest per number.
	Events map[int64]webhook.Action
	Now    time.Time
	TTL    time.Duration
	Max    int
}

// planPreviews decides the state of every advertised pull request: Closed after a closed
// webhook, Expired when its head has not changed for the TTL (both until the head changes
// or it is reopened), else Running or Waiting. Previews already running keep their place, so
// a new pull request never pushes out a running one; free places go to the lowest numbers.
// Entries come back sorted by number, then ref.
func planPreviews(in planInput) []landfallv1.PreviewEntry {
	prev := map[string]landfallv1.PreviewEntry{}
	for _, e := range in.Previous {
		prev[e.Ref] = e
	}
	var out []landfallv1.PreviewEntry
	for ref, commit := range in.Heads {
		pr := pullRequestOf(ref, commit)
		old, seen := prev[ref]
		e := landfallv1.PreviewEntry{Number: pr.Number, Ref: ref, Revision: pr.revision(), Namespace: old.Namespace,
			Application: old.Application, Health: old.Health, URL: old.URL}
		e.UpdatedAt = old.UpdatedAt
		if !seen || old.Revision != e.Revision || e.UpdatedAt == nil {
			now := metav1.NewTime(in.Now)
			e.UpdatedAt = &now
		}
		changed := seen && old.Revision != e.Revision
		e.State, e.Message = stateOf(in, pr, old, seen && !changed, e.UpdatedAt.Time)
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b landfallv1.PreviewEntry) int {
		return cmp.Or(cmp.Compare(a.Number, b.Number), cmp.Compare(a.Ref, b.Ref))
	})
	assignSlots(out, prev, in.Max)
	return out
}

// stateOf decides Closed and Expired; every other pull request is a candidate to run
// (returned as Running, before slots are assigned).
func stateOf(in planInput, pr pullRequest, old landfallv1.PreviewEntry, unchanged bool, updated time.Time) (landfallv1.PreviewState, string) {
	if a, ok := in.Events[pr.Number]; ok && pr.Number > 0 {
		if a == webhook.Closed {
			return landfallv1.PreviewClosed, "the pull request was closed; its preview is deleted"
		}
		if a == webhook.Opened || a == webhook.Reopened || a == webhook.Synchronize {
			return landfallv1.PreviewRunning, ""
		}
	}
	if unchanged && (old.State == landfallv1.PreviewClosed || old.State == landfallv1.PreviewExpired) {
		return old.State, old.Message
	}
	if in.TTL > 0 && !in.Now.Before(updated.Add(in.TTL)) {
		return landfallv1.PreviewExpired, fmt.Sprintf("the head has not changed for %s (ttl); its preview is deleted until it does", in.TTL)
	}
	return landfallv1.PreviewRunning, ""
}

// assignSlots keeps at most max candidates Running: those running before first, then the
// lowest numbers; the rest wait.
func assignSlots(entries []landfallv1.PreviewEntry, prev map[string]landfallv1.PreviewEntry, max int) {
	var order []int
	for pass := range 2 {
		for i, e := range entries {
			wasRunning := prev[e.Ref].State == landfallv1.PreviewRunning
			if e.State == landfallv1.PreviewRunning && wasRunning == (pass == 0) {
				order = append(order, i)
			}
		}
	}
	for rank, i := range order {
		if rank >= max {
			entries[i].State = landfallv1.PreviewWaiting
			entries[i].Message = fmt.Sprintf("waiting: maxPreviews (%d) previews are running; it starts when one of them ends", max)
			entries[i].Health, entries[i].URL, entries[i].Namespace, entries[i].Application = "", "", "", ""
		}
	}
	for i := range entries {
		if entries[i].State != landfallv1.PreviewRunning && entries[i].State != landfallv1.PreviewWaiting {
			entries[i].Health, entries[i].URL, entries[i].Namespace, entries[i].Application = "", "", "", ""
		}
	}
}

// nextExpiry is how long until the first running or waiting preview expires; 0 without a TTL.
func nextExpiry(entries []landfallv1.PreviewEntry, ttl time.Duration, now time.Time) time.Duration {
	if ttl <= 0 {
		return 0
	}
	var next time.Duration
	for _, e := range entries {
		if (e.State != landfallv1.PreviewRunning && e.State != landfallv1.PreviewWaiting) || e.UpdatedAt == nil {
			continue
		}
		d := max(e.UpdatedAt.Add(ttl).Sub(now), time.Second)
		if next == 0 || d < next {
			next = d
		}
	}
	return next
}
