package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/health"
	"github.com/landfall-dev/landfall/render"
	"github.com/landfall-dev/landfall/render/decrypt"
	"github.com/landfall-dev/landfall/sync/apply"
	"github.com/landfall-dev/landfall/sync/inventory"
	"github.com/landfall-dev/landfall/sync/rollout"
	"github.com/landfall-dev/landfall/sync/source"
)

// envOutcome is how one environment's sync ended.
type envOutcome struct {
	err     error
	blocked bool // waiting (sync window), not failed
	stalled bool // the user must act
	reason  string
	message string
	requeue time.Duration
}

func failed(reason string, err error, stalled bool) envOutcome {
	return envOutcome{err: err, reason: reason, message: err.Error(), stalled: stalled}
}

// syncEnvironment takes at most one rollout step for one environment: it observes health
// (and analysis), asks the planner what to do, does it and records it. It never blocks
// waiting for health; the requeue comes back.
func (r *ApplicationReconciler) syncEnvironment(ctx context.Context, app *landfallv1.Application,
	idx int, co *source.Checkout, manual bool, rules *health.Rules) envOutcome {
	env := &app.Spec.Environments[idx]
	st := environmentStatus(app, env.Name)
	desired := desiredRevision(app, idx, co)
	if desired == "" {
		prev := app.Spec.Environments[idx-1].Name
		return envOutcome{blocked: true, reason: landfallv1.ReasonProgressing, message: "waiting for " + prev + " to complete", requeue: 5 * time.Second}
	}
	st.DesiredRevision = pinnedOr(app, env.Name, st, desired)
	log := ctrl.LoggerFrom(ctx).WithValues("environment", env.Name, "revision", st.DesiredRevision)
	ctx = ctrl.LoggerInto(ctx, log)
	ten, err := r.Tenants.of(ctx, app.Namespace)
	if err != nil {
		return failed(landfallv1.ReasonPolicyViolation, err, false)
	}
	if err := r.checkTenant(ctx, ten, app, env); err != nil {
		return r.policyViolation(app, env.Name, st, err)
	}
	// Dependencies first: a revision waits for them, then for a person's approval.
	desired, held := r.dependencyGate(ctx, app, env, st, desired, ten)
	desired, approval := gate(app, env, st, desired, r.clock())
	if held == nil {
		held = approval
	}
	if held != nil && desired == "" {
		st.Message = held.message
		return *held // nothing deployed yet: nothing to keep
	}
	st.Cluster = env.Cluster
	dest, err := r.Clusters.forApplication(ctx, app, env.Cluster)
	if errors.Is(err, errServiceAccountNotFound) {
		r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, landfallv1.ReasonServiceAccountNotFound, "Sync", "environment %s: %s", env.Name, err.Error())
		out := failed(landfallv1.ReasonServiceAccountNotFound, err, true)
		out.requeue = serviceAccountWait
		return out
	}
	if err != nil {
		return failed(landfallv1.ReasonClusterUnreachable, err, false)
	}
	if manual || st.Revision == "" {
		// A manual sync, and an environment's first render (an operator installed a moment
		// ago, then the Application), render with what the cluster serves now.
		dest.caps.invalidate()
	}
	s := &envSync{r: r, app: app, env: env, st: st, dest: dest, co: co, manual: manual, key: envKey{app.Namespace, app.Name, env.Name}, tenant: ten}
	if out, done := s.fastForward(ctx, desired); done {
		return out
	}
	now := r.clock()
	h := r.observeHealth(ctx, dest, s.key, st, rules)
	st.Health = landfallv1.Health(h.Status)
	if err := checkQueries(app, env); err != nil {
		return failed(landfallv1.ReasonInvalidSpec, err, true)
	}
	verdict := r.analyze(ctx, app, env, st, now)
	var out envOutcome
	// Promotion and the end of a bake are bookkeeping: plan again at once, so a revision
	// without a bake time reaches the next environment in the same pass.
	for range 3 {
		dec, err := rollout.Plan(rollout.Input{Policy: policyOf(app, env), Progress: progressOf(st), Desired: desired,
			Pinned: st.PinnedRevision, Health: h.Status, Analysis: verdict, ApprovedSteps: approvedSteps(app, env, st, now), Now: now})
		if err != nil {
			return failed(landfallv1.ReasonInvalidSpec, err, true)
		}
		out = s.carryOut(ctx, dec, h)
		kind := dec.Action.Kind
		if out.err != nil || out.blocked || (kind != rollout.ActionPromote && kind != rollout.ActionBakeComplete) {
			break
		}
	}
	if out.err != nil {
		r.Drift.markDirty(s.key) // not synced: the next pass must compare again
	}
	s.mask(&out)
	if held != nil && out.err == nil && !out.blocked {
		st.Message = held.message
		return *held
	}
	return out
}

// desiredRevision is what an environment should run: the first takes Git's revision; each
// later one takes what the one before it completed (healthy and baked), and keeps what it
// has while the one before is still rolling out or failed.
func desiredRevision(app *landfallv1.Application, idx int, co *source.Checkout) string {
	if idx == 0 {
		return co.Revision.String()
	}
	prev := environmentStatus(app, app.Spec.Environments[idx-1].Name)
	if prev.Rollout != nil && prev.Rollout.Phase == landfallv1.RolloutCompleted && prev.Rollout.Revision != "" {
		return prev.Rollout.Revision
	}
	return environmentStatus(app, app.Spec.Environments[idx].Name).DesiredRevision
}

// pinnedOr reads a manual rollback's pin (annotation pin.landfall.dev/<env>) into status.
func pinnedOr(app *landfallv1.Application, env string, st *landfallv1.EnvironmentStatus, desired string) string {
	st.PinnedRevision = app.Annotations[landfallv1.AnnotationPinPrefix+env]
	if st.PinnedRevision != "" {
		return st.PinnedRevision
	}
	return desired
}

// checkWindow holds the sync while a window forbids it.
func (r *ApplicationReconciler) checkWindow(app *landfallv1.Application, st *landfallv1.EnvironmentStatus, manual bool) (envOutcome, bool) {
	v, err := evaluateWindows(app.Spec.SyncWindows, r.clock())
	if err != nil {
		return failed(landfallv1.ReasonInvalidSpec, err, true), false
	}
	if v.Allowed || (manual && v.ManualAllowed) {
		return envOutcome{}, true
	}
	st.Message = v.Reason
	if st.Revision != st.DesiredRevision {
		st.Sync = landfallv1.SyncOutOfSync
	}
	wait := time.Until(v.Next) + time.Second
	return envOutcome{blocked: true, reason: landfallv1.ReasonOutsideSyncWindow, message: v.Reason, requeue: wait}, false
}

func (r *ApplicationReconciler) render(ctx context.Context, app *landfallv1.Application, env *landfallv1.Environment,
	co *source.Checkout, dest *destination) (*render.Result, error) {
	in, err := r.renderInput(ctx, app, env, co, dest)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	res, err := r.Renderer.Render(ctx, in)
	renderDuration.WithLabelValues(app.Namespace, app.Name, env.Name).Observe(time.Since(start).Seconds())
	if err == nil {
		r.Rendered.put(envKey{app.Namespace, app.Name, env.Name}, res)
	}
	return res, err
}

// renderInput gathers what a render of env at co takes: values, keys, the destination.
func (r *ApplicationReconciler) renderInput(ctx context.Context, app *landfallv1.Application, env *landfallv1.Environment,
	co *source.Checkout, dest *destination) (render.Input, error) {
	in := render.Input{
		Root: co.Dir, Path: firstNonEmpty(env.Path, app.Spec.Path), Namespace: env.Namespace,
		ReleaseName: firstNonEmpty(env.ReleaseName, app.Name), ValuesFiles: env.ValuesFiles,
		Revision: co.Revision.ID(), KubeVersion: dest.version, Scope: dest.scope,
		Policy: render.Policy{AllowClusterScoped: app.Spec.AllowClusterScoped, AllowedNamespaces: app.Spec.AllowedNamespaces},
	}
	// Only a Helm chart sees what the cluster serves (.Capabilities.APIVersions): reading
	// it costs two discovery requests when it is stale, for nothing to Kustomize or YAML.
	if kind, err := render.Detect(co.Dir, in.Path); err != nil || kind == render.KindHelm {
		in.APIVersions = dest.caps.apiVersions()
	}
	if env.Values != nil && len(env.Values.Raw) > 0 {
		if err := json.Unmarshal(env.Values.Raw, &in.Values); err != nil {
			return in, fmt.Errorf("environment %s: values: %w", env.Name, err)
		}
	}
	keys, err := r.decryptionKeys(ctx, app, env)
	if err != nil {
		return in, err
	}
	in.Decryption = keys
	in.ValuesFrom, err = r.valuesFrom(ctx, app, env)
	return in, err
}

// prune deletes the objects of the old inventory that the render no longer has, unless the
// spec does not prune or the prune would take too much. Canary Deployments are Landfall's
// own and always go. It returns what must stay in the inventory: objects whose delete
// failed or was held.
func (r *ApplicationReconciler) prune(ctx context.Context, app *landfallv1.Application, env *landfallv1.Environment,
	st *landfallv1.EnvironmentStatus, mgr *apply.Manager, old, desired inventory.Inventory, changes *apply.ChangeSet) (inventory.Inventory, envOutcome) {
	stale := old.Difference(desired)
	if stale.Len() == 0 {
		return inventory.Inventory{}, envOutcome{}
	}
	canaries, rest := splitCanaries(stale)
	if !app.Spec.Prune {
		stale = canaries
	} else if err := apply.PruneAllowed(old.Len(), rest.Len(), app.Spec.AllowMassPrune); err != nil {
		pruneHolds.WithLabelValues(app.Namespace, app.Name, env.Name).Inc()
		msg := fmt.Sprintf("%s; set spec.allowMassPrune to let it happen", err.Error())
		st.Message, st.Sync = msg, landfallv1.SyncOutOfSync
		r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, landfallv1.ReasonPruneHeld, "Prune", "environment %s: %s", env.Name, msg)
		return stale, envOutcome{err: errors.New(msg), reason: landfallv1.ReasonPruneHeld, message: msg, stalled: true}
	}
	pruned, keep, err := mgr.Prune(ctx, refsOf(stale))
	changes.Append(pruned)
	recordChanges(app, env.Name, pruned)
	kept := inventoryOf(keep, stale).Union(old.Difference(desired).Difference(stale))
	if err != nil {
		st.Sync, st.Message = landfallv1.SyncOutOfSync, "prune: "+err.Error()
		return kept, failed(landfallv1.ReasonApplyFailed, fmt.Errorf("prune: %w", err), false)
	}
	return kept, envOutcome{}
}

// splitCanaries separates the canary Deployments Landfall made from everything else.
func splitCanaries(inv inventory.Inventory) (canaries, rest inventory.Inventory) {
	var c, o []inventory.Entry
	for _, e := range inv.Entries() {
		if e.Group == "apps" && e.Kind == "Deployment" && strings.HasSuffix(e.Name, rollout.CanarySuffix) {
			c = append(c, e)
		} else {
			o = append(o, e)
		}
	}
	canaries, _ = inventory.New(c...)
	rest, _ = inventory.New(o...)
	return canaries, rest
}

// mask keeps the clear values of the pass's SOPS files out of what the outcome and the
// status say; the condition, its Event and the log are made from them.
func (s *envSync) mask(out *envOutcome) {
	if len(s.sensitive) == 0 {
		return
	}
	out.message = decrypt.Redact(out.message, s.sensitive)
	s.st.Message = decrypt.Redact(s.st.Message, s.sensitive)
	if out.err != nil {
		if msg := decrypt.Redact(out.err.Error(), s.sensitive); msg != out.err.Error() {
			out.err = errors.New(msg)
		}
	}
}
