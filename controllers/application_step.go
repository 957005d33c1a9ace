package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/health"
	"github.com/landfall-dev/landfall/notify"
	"github.com/landfall-dev/landfall/render"
	"github.com/landfall-dev/landfall/render/decrypt"
	"github.com/landfall-dev/landfall/sync/apply"
	"github.com/landfall-dev/landfall/sync/inventory"
	"github.com/landfall-dev/landfall/sync/rollout"
	"github.com/landfall-dev/landfall/sync/source"
)

// envSync is one pass over one environment.
type envSync struct {
	r      *ApplicationReconciler
	app    *landfallv1.Application
	env    *landfallv1.Environment
	st     *landfallv1.EnvironmentStatus
	dest   *destination
	co     *source.Checkout
	manual bool
	key    envKey
	tenant *tenant
	// sensitive are the clear values of the SOPS files rendered in this pass, masked out of
	// every message (an apiserver refusal quotes the value it refuses).
	sensitive []string
	// counted names the autoscaled Deployments the objects of the step give a count (see
	// rollout.Counted): applied although an autoscaler targets them.
	counted map[string]bool
	// rendered is the render fastForward made and did not use.
	rendered *renderedRevision
}

// waitForHealth is how soon a step waiting for health looks again; watch events of the
// managed objects usually come sooner.
const waitForHealth = 2 * time.Second

// carryOut does what the planner decided and records it.
func (s *envSync) carryOut(ctx context.Context, dec rollout.Decision, h health.Result) envOutcome {
	a := dec.Action
	switch a.Kind {
	case rollout.ActionApply:
		return s.step(ctx, dec)
	case rollout.ActionRollback:
		return s.rollback(ctx, dec, h)
	case rollout.ActionPromote:
		return s.promote(ctx, dec)
	case rollout.ActionBakeComplete:
		recordProgress(s.st, dec.Progress, a.Message)
		s.event(corev1.EventTypeNormal, "Baked", a.Message)
		s.notify(notify.Promoted, dec.Progress.Revision, a.Message)
		return envOutcome{}
	case rollout.ActionWait:
		recordProgress(s.st, dec.Progress, a.Message)
		p := dec.Progress
		if out := s.heal(ctx, p.Revision, p.Stable, p.Weight); out.err != nil {
			return out
		}
		if a.Reason == rollout.ReasonAwaitingApproval {
			return s.awaitStep(p, a.Message)
		}
		s.st.Message = a.Message
		wait := waitForHealth
		if !a.Until.IsZero() {
			wait = min(max(time.Until(a.Until), 100*time.Millisecond), time.Minute)
		}
		if due := nextMeasurement(rolloutOf(s.app, s.env), s.st, s.r.clock()); !due.IsZero() {
			wait = min(wait, max(time.Until(due), 100*time.Millisecond))
		}
		return envOutcome{blocked: true, reason: landfallv1.ReasonProgressing, message: a.Message, requeue: wait}
	case rollout.ActionFail:
		if h.Message != "" && a.Reason != rollout.ReasonAnalysisFailed {
			a.Message += " (" + h.Message + ")"
		}
		recordProgress(s.st, dec.Progress, a.Message)
		setHistory(s.app, a.Revision, s.commitOf(a.Revision), s.env.Name, landfallv1.ResultFailed, a.Message, s.r.clock())
		s.event(corev1.EventTypeWarning, failureReason(a.Reason), a.Message)
		s.notify(failureKind(a.Reason), a.Revision, a.Message)
		return envOutcome{reason: failureReason(a.Reason), message: a.Message, err: errors.New(a.Message), stalled: true}
	}
	return s.hold(ctx, dec)
}

// hold handles a rollout with nothing to do: an up-to-date environment heals drift; a
// pinned one heals drift too and says why it stays; a failed one says why it stays.
func (s *envSync) hold(ctx context.Context, dec rollout.Decision) envOutcome {
	a := dec.Action
	switch a.Reason {
	case rollout.ReasonRevisionFailed:
		// Keep saying why it failed: that is what the team needs to read.
		msg := a.Message
		if s.st.Rollout != nil && s.st.Rollout.Message != "" {
			msg = s.st.Rollout.Message
		}
		recordProgress(s.st, dec.Progress, msg)
		reason := landfallv1.ReasonHealthCheckFailed
		if s.st.Rollout.Phase == landfallv1.RolloutRolledBack {
			reason = landfallv1.ReasonRolledBack
		}
		if out := s.healLive(ctx); out.err != nil {
			return out
		}
		// Only a new commit moves it on: a person must act (kstatus Stalled).
		return envOutcome{blocked: true, stalled: true, reason: reason, message: msg}
	case rollout.ReasonPinned:
		// A pinned environment is kept as it is pinned: drift is healed (or reported) as in
		// any other. It blocks the environments after it, which must not run past the pin.
		recordProgress(s.st, dec.Progress, a.Message)
		if out := s.healLive(ctx); out.err != nil {
			return out
		}
		return envOutcome{blocked: true, reason: landfallv1.ReasonPinned, message: a.Message}
	}
	recordProgress(s.st, dec.Progress, a.Message)
	s.st.Message = "revision " + a.Revision + " is rolled out"
	return s.heal(ctx, a.Revision, "", 100)
}

// healLive heals an environment that holds: it keeps what is live (the last healthy
// revision after a rollback, the pinned one), never the failed revision.
func (s *envSync) healLive(ctx context.Context) envOutcome {
	if s.st.Revision == "" {
		return envOutcome{}
	}
	msg := s.st.Message
	out := s.heal(ctx, s.st.Revision, "", 100)
	if out.err == nil {
		s.st.Message = msg // keep saying why it holds
	}
	return out
}

// heal keeps the environment as Git says between rollout steps: with self-heal (or on a
// manual sync) it re-applies objects changed by hand, else it names them. When nothing
// changed in Git nor in the cluster it does nothing: no render, no dry-run, no write.
func (s *envSync) heal(ctx context.Context, revision, stable string, weight int32) envOutcome {
	dirty := s.r.Drift.takeDirty(s.key, s.app.Spec.SelfHeal)
	// A render asked for because the cluster's API changed is Git's intent, not drift: it is
	// applied with or without self-heal, and is no self-heal.
	rerender := s.r.Drift.takeRerender(s.key)
	if dirty && !rerender && !s.manual && !s.r.Drift.isUnhealed(s.key) && s.unchangedInInformers() {
		dirty = false // woken by Landfall's own write or a status change: nothing drifted
	}
	if !dirty && !rerender && !s.manual && !s.liveChanged(ctx) {
		return envOutcome{}
	}
	objs, digest, err := s.objectsForStep(ctx, revision, stable, weight)
	if err != nil {
		// What runs stays; the Event says why the change (a valuesFrom object, a rotated
		// key) is not applied.
		reason := renderFailure(err)
		s.event(corev1.EventTypeWarning, reason, err.Error())
		return failed(reason, err, true)
	}
	if !s.app.Spec.SelfHeal && !s.manual && !rerender {
		out := s.r.reportDrift(ctx, s.app, s.env.Name, s.st, s.dest, objs)
		if out.err == nil {
			s.r.Drift.markUnhealed(s.key, s.st.Sync == landfallv1.SyncOutOfSync)
			s.rememberLive(ctx)
		}
		return out
	}
	if out, ok := s.r.checkWindow(s.app, s.st, s.manual); !ok {
		s.r.Drift.markDirty(s.key) // compare again once the window opens
		return out
	}
	out, changes := s.apply(ctx, objs, digest, revision, weight >= 100)
	if out.err == nil && changes.Writes() > 0 && !s.manual && !rerender {
		driftCorrections.WithLabelValues(s.app.Namespace, s.app.Name, s.env.Name).Inc()
		s.event(corev1.EventTypeNormal, "SelfHealed", "re-applied objects changed by hand: "+changes.String())
		s.notify(notify.DriftCorrected, revision, "re-applied objects changed by hand: "+changes.String())
	}
	if out.err == nil {
		s.r.Drift.markUnhealed(s.key, false) // apply remembered the live objects
	}
	return out
}

// step applies one step of a rollout: the whole revision, or a canary weight of it.
func (s *envSync) step(ctx context.Context, dec rollout.Decision) envOutcome {
	a := dec.Action
	if out, ok := s.r.checkWindow(s.app, s.st, s.manual); !ok {
		return out
	}
	objs, digest, err := s.objectsForStep(ctx, a.Revision, dec.Progress.Stable, a.Weight)
	if err != nil {
		s.st.Sync, s.st.Message = landfallv1.SyncUnknown, err.Error()
		reason := renderFailure(err)
		s.event(corev1.EventTypeWarning, reason, err.Error())
		s.notify(notify.SyncFailed, a.Revision, err.Error())
		return failed(reason, err, true)
	}
	out, _ := s.apply(ctx, objs, digest, a.Revision, a.Weight >= 100)
	if out.err != nil {
		return out
	}
	recordProgress(s.st, dec.Progress, a.Message)
	if a.Step == 0 {
		setHistory(s.app, a.Revision, s.commitOf(a.Revision), s.env.Name, landfallv1.ResultProgressing, a.Message, s.r.clock())
	}
	rolloutWeight.WithLabelValues(s.app.Namespace, s.app.Name, s.env.Name).Set(float64(a.Weight))
	s.event(corev1.EventTypeNormal, "RolloutStep", a.Message)
	if a.Weight < 100 {
		s.notify(notify.CanaryStep, a.Revision, a.Message)
	}
	return envOutcome{blocked: true, reason: landfallv1.ReasonProgressing, message: a.Message, requeue: waitForHealth}
}

// rollback returns the environment to its last healthy revision, whole, canary removed.
// It ignores sync windows: leaving a failed revision running is never the safer choice.
func (s *envSync) rollback(ctx context.Context, dec rollout.Decision, h health.Result) envOutcome {
	a := dec.Action
	bad := s.st.Rollout.Revision
	objs, digest, err := s.objectsForStep(ctx, a.Revision, "", 100)
	if err != nil {
		return failed(landfallv1.ReasonRolledBack, fmt.Errorf("rolling back to %s: %w", a.Revision, err), false)
	}
	out, _ := s.apply(ctx, objs, digest, a.Revision, true)
	if out.err != nil {
		return out
	}
	msg := fmt.Sprintf("rolled back from %s to %s (%s): %s", bad, a.Revision, a.Reason, a.Message)
	if h.Message != "" && a.Reason != rollout.ReasonAnalysisFailed {
		msg += " (" + h.Message + ")"
	}
	recordProgress(s.st, dec.Progress, msg)
	s.st.Message = msg
	setHistory(s.app, bad, s.commitOf(bad), s.env.Name, landfallv1.ResultRolledBack, msg, s.r.clock())
	rollbacks.WithLabelValues(s.app.Namespace, s.app.Name, s.env.Name, string(a.Reason)).Inc()
	rolloutWeight.WithLabelValues(s.app.Namespace, s.app.Name, s.env.Name).Set(0)
	s.event(corev1.EventTypeWarning, landfallv1.ReasonRolledBack, msg)
	s.notify(notify.RolledBack, bad, msg)
	ctrl.LoggerFrom(ctx).Info("Rolled back", "from", bad, "to", a.Revision, "reason", string(a.Reason))
	return envOutcome{blocked: true, reason: landfallv1.ReasonRolledBack, message: msg}
}

// promote records a healthy revision and keeps its objects for later rollbacks.
func (s *envSync) promote(ctx context.Context, dec rollout.Decision) envOutcome {
	a := dec.Action
	objs, _, err := s.objectsFor(ctx, a.Revision, 100)
	var keys *decrypt.Keys
	if err == nil {
		keys, err = s.r.decryptionKeys(ctx, s.app, s.env)
	}
	if err == nil {
		err = s.r.Store.save(ctx, s.app, s.env.Name, a.Revision, objs, keys)
	}
	s.recordStored(ctx, a.Revision, err)
	recordProgress(s.st, dec.Progress, a.Message)
	setHistory(s.app, a.Revision, s.commitOf(a.Revision), s.env.Name, landfallv1.ResultSucceeded, a.Message, s.r.clock())
	s.event(corev1.EventTypeNormal, "Promoted", a.Message)
	if s.env.BakeTime != nil && s.env.BakeTime.Duration > 0 {
		s.notify(notify.Baking, a.Revision, a.Message) // promoted once the bake passes
		return envOutcome{blocked: true, reason: landfallv1.ReasonProgressing, message: a.Message, requeue: waitForHealth}
	}
	s.notify(notify.Promoted, a.Revision, a.Message)
	return envOutcome{}
}

// recordStored shows whether the healthy revision was stored for rollbacks. A failure
// does not undo the promotion: a later rollback falls back to the checkout cache and Git.
func (s *envSync) recordStored(ctx context.Context, revision string, err error) {
	prefix := "environment " + s.env.Name + ": "
	if err == nil {
		if c := apimeta.FindStatusCondition(s.app.Status.Conditions, landfallv1.ConditionRevisionStored); c != nil &&
			strings.HasPrefix(c.Message, prefix) {
			removeCondition(s.app, landfallv1.ConditionRevisionStored)
		}
		return
	}
	msg := fmt.Sprintf("revision %s is promoted but not stored for rollbacks: %s", revision, err.Error())
	setCondition(s.app, landfallv1.ConditionRevisionStored, metav1.ConditionFalse, landfallv1.ReasonStoreFailed, prefix+msg)
	s.event(corev1.EventTypeWarning, landfallv1.ReasonStoreFailed, msg)
	ctrl.LoggerFrom(ctx).Error(err, "Cannot store the healthy revision")
}

func (s *envSync) event(typ, reason, msg string) {
	s.r.Recorder.Eventf(s.app, nil, typ, reason, "Rollout", "environment %s: %s", s.env.Name, decrypt.Redact(msg, s.sensitive))
}

// notify publishes an event of this environment; messages are masked as Events are.
func (s *envSync) notify(kind notify.Kind, revision, msg string) {
	s.r.Notify.application(context.Background(), s.app, s.env.Name, kind, revision, decrypt.Redact(msg, s.sensitive))
}

func failureKind(r rollout.Reason) notify.Kind {
	if r == rollout.ReasonAnalysisFailed {
		return notify.AnalysisFailed
	}
	return notify.SyncFailed
}

func failureReason(r rollout.Reason) string {
	if r == rollout.ReasonAnalysisFailed {
		return landfallv1.ReasonAnalysisFailed
	}
	return landfallv1.ReasonHealthCheckFailed
}

// fastForward moves a completed environment to a new revision that renders exactly the
// same objects (a monorepo commit elsewhere): no rollout, no bake, no write.
func (s *envSync) fastForward(ctx context.Context, desired string) (envOutcome, bool) {
	ro := s.st.Rollout
	// Only a Synced environment is known to run what its digest says: after a failed render
	// the status would keep the stale error, and after a failed apply a part of the failed
	// commit would stay live. Those sync for real.
	if ro == nil || ro.Phase != landfallv1.RolloutCompleted || ro.Revision == desired || s.st.PinnedRevision != "" ||
		s.st.RenderDigest == "" || s.st.Sync != landfallv1.SyncSynced {
		return envOutcome{}, false
	}
	if !s.unchanged(ctx, desired) {
		objs, digest, err := s.objectsFor(ctx, desired, 100)
		if err != nil || digest != s.st.RenderDigest {
			// The step that follows in this pass applies this render, not another one.
			s.rendered = &renderedRevision{revision: desired, objs: objs, digest: digest}
			return envOutcome{}, false
		}
	}
	ro.Revision, s.st.Revision, s.st.LastHealthyRevision = desired, desired, desired
	s.st.Commit = s.commitOf(desired)
	return envOutcome{}, true
}

// unchanged reports, without rendering, that desired (the checkout's revision) holds
// nothing new for the environment: its last render, which had the digest it runs, read
// the same content in the checkout, with the same values, keys and destination.
func (s *envSync) unchanged(ctx context.Context, desired string) bool {
	if desired != s.co.Revision.String() {
		return false
	}
	prev, ok := s.r.Rendered.get(s.key, s.st.RenderDigest)
	if !ok {
		return false
	}
	in, err := s.r.renderInput(ctx, s.app, s.env, s.co, s.dest)
	return err == nil && s.r.Renderer.Unchanged(in, prev)
}

// renderedRevision is a render of this pass not applied yet.
type renderedRevision struct {
	revision string
	objs     []*unstructured.Unstructured
	digest   string
}

// objectsForStep returns the objects of a step: the revision, or at a canary weight the
// stable revision with canary Deployments of the new one.
func (s *envSync) objectsForStep(ctx context.Context, revision, stable string, weight int32) ([]*unstructured.Unstructured, string, error) {
	next, digest, err := s.objectsFor(ctx, revision, 100)
	if err != nil {
		return nil, "", err
	}
	live, err := s.liveReplicas(ctx, next)
	if err != nil {
		return nil, "", err
	}
	objs := next
	if weight < 100 && stable != "" {
		old, _, err := s.objectsFor(ctx, stable, 100)
		if err != nil {
			return nil, "", fmt.Errorf("the stable revision for the canary: %w", err)
		}
		if objs, err = rollout.CanaryObjects(old, next, weight, live); err != nil {
			return nil, "", err
		}
		objs, digest = stamp(objs, s.app, s.env.Name), ""
	}
	objs = rollout.WithLiveReplicas(objs, live)
	s.counted = rollout.Counted(next, objs)
	return objs, digest, nil
}

// liveReplicas reads how many replicas each autoscaled Deployment of objs runs now, its
// canary's included: the total a canary splits, and the count every apply keeps.
func (s *envSync) liveReplicas(ctx context.Context, objs []*unstructured.Unstructured) (rollout.Live, error) {
	live := rollout.Live{}
	for _, d := range rollout.Autoscaled(objs) {
		n, found := rollout.Count{}, false
		for _, name := range []string{d.GetName(), d.GetName() + rollout.CanarySuffix} {
			dep := &appsv1.Deployment{}
			err := s.dest.client.Get(ctx, objectKey(d.GetNamespace(), name), dep)
			switch {
			case apierrors.IsNotFound(err):
				continue
			case err != nil:
				return nil, fmt.Errorf("reading the replicas of Deployment %s/%s: %w", d.GetNamespace(), name, err)
			}
			found = true
			if name == d.GetName() {
				n.Stable = ptr.Deref(dep.Spec.Replicas, 1)
			} else {
				n.Canary = ptr.Deref(dep.Spec.Replicas, 1)
			}
		}
		if found {
			live[rollout.LiveKey(d.GetNamespace(), d.GetName())] = n
		}
	}
	return live, nil
}

// objectsFor returns the stamped objects of a revision: rendered from the checkout when it
// is the current one, else from the stored healthy revision, else from a past checkout.
func (s *envSync) objectsFor(ctx context.Context, revision string, _ int32) ([]*unstructured.Unstructured, string, error) {
	if r := s.rendered; r != nil && r.revision == revision && r.objs != nil {
		s.rendered = nil // its objects are handed out once: the caller may change them
		return r.objs, r.digest, nil
	}
	if revision == s.co.Revision.String() {
		return s.renderFrom(ctx, s.co)
	}
	keys, err := s.r.decryptionKeys(ctx, s.app, s.env)
	if err != nil {
		return nil, "", err
	}
	if objs, ok, err := s.r.Store.load(ctx, s.app, s.env.Name, revision, keys); err != nil || ok {
		return stamp(objs, s.app, s.env.Name), "", err
	}
	co, err := s.r.pastCheckout(ctx, s.app, revision)
	if err != nil {
		return nil, "", err
	}
	defer co.Close()
	return s.renderFrom(ctx, co)
}

// pastCheckout leases the checkout of a revision other than the Repository's current one:
// from the checkout cache, else fetched from Git by its commit alone (shallow where the
// server allows), so any revision in the history can be rolled back to after a restart.
func (r *ApplicationReconciler) pastCheckout(ctx context.Context, app *landfallv1.Application, revision string) (*source.Checkout, error) {
	rev, err := source.ParseRevision(revision)
	if err != nil {
		return nil, err
	}
	repo := &landfallv1.Repository{}
	if err := r.Get(ctx, objectKey(app.Namespace, app.Spec.RepositoryRef.Name), repo); err != nil {
		return nil, err
	}
	if isOCIOrChart(repo) {
		co, err := r.chartCheckout(ctx, repo, rev)
		if err != nil {
			return nil, fmt.Errorf("revision %s is not available offline (neither stored nor in the chart cache), "+
				"and fetching it failed: %w", revision, errors.Join(err, errUnavailable))
		}
		return co, nil
	}
	co, ok, err := r.Source.Cached(repo.Spec.URL, rev)
	if errors.Is(err, source.ErrCheckoutMismatch) {
		r.checkoutReplaced(ctx, app, err) // discarded unread; fetched again below
	} else if err != nil || ok {
		return co, err
	}
	auth, err := (&RepositoryReconciler{Secrets: r.Secrets}).auth(ctx, repo)
	if err == nil {
		fctx, cancel := context.WithTimeout(ctx, fetchTimeout(repo))
		defer cancel()
		co, err = r.Source.Checkout(fctx, repo.Spec.URL, source.Ref{Commit: rev.Commit}, auth)
	}
	if err != nil {
		return nil, fmt.Errorf("revision %s is not available offline (neither stored nor in the checkout cache), "+
			"and fetching it from Git failed: %w", revision, errors.Join(err, errUnavailable))
	}
	co.Revision = rev
	return co, nil
}

var errUnavailable = errors.New("unavailable")

func (s *envSync) renderFrom(ctx context.Context, co *source.Checkout) ([]*unstructured.Unstructured, string, error) {
	res, err := s.r.render(ctx, s.app, s.env, co, s.dest)
	if err != nil {
		return nil, "", err
	}
	s.sensitive = append(s.sensitive, res.Sensitive...)
	if len(res.SkippedHooks) > 0 && !res.Cached {
		s.event(corev1.EventTypeNormal, "HooksSkipped", "Helm hooks are not applied: "+strings.Join(res.SkippedHooks, "; "))
	}
	return stamp(res.Objects, s.app, s.env.Name), res.Digest, nil
}

// apply applies objects and, for a whole revision, prunes what the inventory no longer has.
func (s *envSync) apply(ctx context.Context, objs []*unstructured.Unstructured, digest, revision string, prune bool) (envOutcome, *apply.ChangeSet) {
	start := time.Now()
	app, st := s.app, s.st
	if err := s.tenant.checkObjects(s.env, objs); err != nil {
		return s.policyViolation(err), nil
	}
	if err := s.r.ensureNamespace(ctx, s.dest, app, s.env.Name, s.env.Namespace, s.tenant); err != nil {
		return failed(landfallv1.ReasonApplyFailed, err, false), nil
	}
	mgr, err := s.r.applierCounting(s.dest, app, s.env.Name, s.counted, objs...)
	if err != nil {
		return failed(landfallv1.ReasonApplyFailed, err, false), nil
	}
	old, err := decodeInventory(st)
	if err != nil {
		return failed(landfallv1.ReasonApplyFailed, err, false), nil
	}
	desired, err := inventory.FromObjects(objs)
	if err != nil {
		return failed(landfallv1.ReasonApplyFailed, err, true), nil
	}
	// Whatever changed before this apply is overwritten by it; a change after it (a
	// watch event) marks the environment dirty again.
	s.r.Drift.takeDirty(s.key, false)
	changes, err := mgr.Apply(ctx, objs)
	recordChanges(app, s.env.Name, changes)
	s.noteAPIChanges(changes)
	if err != nil {
		s.r.namespaces.forget(s.dest.key, s.env.Namespace) // it may be gone: read it again next time
		st.Inventory = encodeInventory(old.Union(applied(changes)))
		st.Sync, st.Message, st.LastSyncResult = landfallv1.SyncOutOfSync, err.Error(), "failed: "+err.Error()
		s.event(corev1.EventTypeWarning, landfallv1.ReasonApplyFailed, err.Error())
		s.notify(notify.SyncFailed, revision, decrypt.Redact(err.Error(), s.sensitive))
		return failed(landfallv1.ReasonApplyFailed, err, forbidden(err)), changes
	}
	s.r.Watcher.ensure(s.dest, s.key, objs)
	keep := old.Difference(desired)
	out := envOutcome{}
	if prune {
		keep, out = s.r.prune(ctx, app, s.env, st, mgr, old, desired, changes)
	}
	s.noteAPIChanges(changes) // a pruned CRD too
	st.Inventory = encodeInventory(desired.Union(keep))
	if out.err != nil || out.blocked {
		return out, changes
	}
	now := metav1.NewTime(s.r.clock())
	st.Revision, st.Commit, st.LastSyncTime = revision, s.commitOf(revision), &now
	if digest != "" {
		st.RenderDigest = digest
	}
	st.Sync, st.OutOfSync, st.LastSyncResult = landfallv1.SyncSynced, nil, changes.String()
	st.Message = "applied " + changes.String()
	s.rememberApplied(ctx, changes)
	syncDuration.WithLabelValues(app.Namespace, app.Name, s.env.Name).Observe(time.Since(start).Seconds())
	if changes.Writes() > 0 {
		s.r.Recorder.Eventf(app, nil, corev1.EventTypeNormal, "Synced", "Apply", "environment %s at %s: %s", s.env.Name, revision, changes.String())
		s.notify(notify.Synced, revision, "applied "+changes.String())
		ctrl.LoggerFrom(ctx).Info("Synced", "changes", changes.String())
	}
	return out, changes
}

// noteAPIChanges reads the destination's API again at the next render when changes wrote a
// CRD or APIService, and makes sure there is a next render, so a chart branching on
// .Capabilities.APIVersions converges.
func (s *envSync) noteAPIChanges(changes *apply.ChangeSet) {
	if changesAPI(changes) {
		s.dest.caps.invalidate()
		s.r.Drift.markRerender(s.key)
	}
}

// forbidden reports an apiserver refusal for lack of permission: the user must act.
func forbidden(err error) bool { return strings.Contains(err.Error(), "forbidden") }

// renderFailure is the reason of a failed render, counted when it exceeded a limit.
func renderFailure(err error) string {
	if decryptionFailed(err) {
		return landfallv1.ReasonDecryptionFailed
	}
	if errors.Is(err, errValuesFrom) || errors.Is(err, render.ErrNotValuesMap) {
		return landfallv1.ReasonValuesFromFailed
	}
	if countLimit("Application", err) {
		return landfallv1.ReasonLimitExceeded
	}
	return landfallv1.ReasonRenderFailed
}
