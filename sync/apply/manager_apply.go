package apply

import (
	"context"
	"errors"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// Apply makes the cluster match objs, in stages: Namespaces and CustomResourceDefinitions
// (then waits until those CRDs are established and served), other cluster-scoped
// objects, namespaced objects; within a stage by sync wave, kind and name. Each object is
// dry-run applied first and written only when it would change.
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

// applyGroup applies each object of one wave, recording every outcome, and returns the
// errors of those that failed.
func (m *Manager) applyGroup(ctx context.Context, g group, cs *ChangeSet) []error {
	logger := log.FromContext(ctx)
	var errs []error
	for _, it := range g.items {
		action, err := m.applyOne(ctx, it)
		if err != nil {
			oerr := objectErr(it.ref, err)
			cs.Add(it.ref, Failed, oerr.msg)
			errs = append(errs, oerr)
			logger.Info("Apply failed", "object", it.ref.String(), "error", oerr.msg)
			continue
		}
		cs.Add(it.ref, action, "")
		logger.V(1).Info("Applied object", "object", it.ref.String(), "action", string(action))
	}
	return errs
}

// applyOne writes one object unless the dry-run shows it would not change.
func (m *Manager) applyOne(ctx context.Context, it item) (Action, error) {
	p, err := m.plan(ctx, it, false)
	if err != nil {
		return "", err
	}
	if p.Action == Unchanged {
		return Unchanged, nil
	}
	if err := m.serverApply(ctx, p.toApply, false); err != nil {
		return "", err
	}
	return p.Action, nil
}
