package apply

import (
	"context"
	"errors"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// Apply makes the cluster match objs, in stages: Namespaces and CustomResourceDefinitions
// (then waits until those CRDs are established and served), other cluster-scoped
// objects, namespaced objects; within a stage by sync wave, kind and name. An existing
// object is dry-run applied first and written only when the result differs from the live
// object; a new one is created directly.
//
// When an object fails, the rest of its stage and wave is still applied, but no later
// wave or stage is: their objects are reported Skipped. The error joins one error per
// failed object, each naming it. objs are not modified. Any error means: do not prune.
func (m *Manager) Apply(ctx context.Context, objs []*unstructured.Unstructured) (*ChangeSet, error) {
	items, cs, err := m.prepare(objs)
	if err != nil {
		return cs, err
	}
	groups := groupItems(items)
	for i, g := range groups {
		errs := m.applyGroup(ctx, g, cs)
		lastOfStage := i+1 == len(groups) || groups[i+1].stage != g.stage
		if len(errs) == 0 && g.stage == stageDefinitions && lastOfStage {
			errs = m.waitForDefinitions(ctx, items, cs)
		}
		if len(errs) > 0 {
			for _, later := range groups[i+1:] {
				for _, it := range later.items {
					cs.Add(it.ref, Skipped, "not applied: an earlier wave or stage failed")
				}
			}
			return cs, errors.Join(errs...)
		}
	}
	return cs, nil
}

// parallelApplies bounds the objects of one kind applied at once: enough to hide the
// round trips to a remote apiserver, few enough not to be throttled.
const parallelApplies = 4

// applyGroup applies each object of one wave, recording every outcome in order, and
// returns the errors of those that failed. Objects of one kind go in parallel; kinds
// still go one after the other, in kind order.
func (m *Manager) applyGroup(ctx context.Context, g group, cs *ChangeSet) []error {
	actions := make([]Action, len(g.items))
	lives := make([]*unstructured.Unstructured, len(g.items))
	errs := make([]error, len(g.items))
	for start := 0; start < len(g.items); {
		end := start + 1
		for end < len(g.items) && g.items[end].ref.GroupKind() == g.items[start].ref.GroupKind() {
			end++
		}
		var eg errgroup.Group
		eg.SetLimit(parallelApplies)
		for i := start; i < end; i++ {
			eg.Go(func() error {
				actions[i], lives[i], errs[i] = m.applyOne(ctx, g.items[i])
				return nil // every object is tried; failures are collected in errs
			})
		}
		_ = eg.Wait()
		start = end
	}
	return m.record(ctx, g.items, actions, lives, errs, cs)
}

// record adds the outcomes to the change set and the log, and returns the failures.
func (m *Manager) record(ctx context.Context, items []item, actions []Action, lives []*unstructured.Unstructured, errs []error, cs *ChangeSet) []error {
	logger := log.FromContext(ctx)
	var failed []error
	for i, it := range items {
		if errs[i] != nil {
			oerr := objectErr(it.ref, errs[i])
			cs.Add(it.ref, Failed, oerr.msg)
			failed = append(failed, oerr)
			logger.Info("Apply failed", "object", it.ref.String(), "error", oerr.msg)
			continue
		}
		cs.Changes = append(cs.Changes, Change{Ref: it.ref, Action: actions[i], Live: lives[i]})
		logger.V(1).Info("Applied object", "object", it.ref.String(), "action", string(actions[i]))
	}
	return failed
}

// applyOne writes one object unless the dry-run shows it would not change, and returns
// the object as it left it (nil when it was recreated).
func (m *Manager) applyOne(ctx context.Context, it item) (Action, *unstructured.Unstructured, error) {
	p, err := m.plan(ctx, it, false)
	if fields := immutableFields(err); fields != nil && p.Live != nil {
		if err := m.immutableChange(ctx, it, p.Live, fields); err != nil {
			return "", nil, err
		}
		return Recreated, nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	if p.Action == Unchanged {
		return Unchanged, p.Live, nil
	}
	if err := m.serverApply(ctx, p.toApply, false); err != nil {
		return "", nil, err
	}
	return p.Action, p.toApply, nil
}
