package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Comparison is what applying one object would do.
type Comparison struct {
	Ref ObjectRef
	// Action is Created, Configured or Unchanged.
	Action Action
	// Live is the object in the cluster; nil when it does not exist.
	Live *unstructured.Unstructured
	// Merged is the object as the apiserver would store it after the apply (the dry-run
	// result), or the desired object when the dry-run could not run yet because its
	// Namespace or CustomResourceDefinition is only in the set. Secrets hold their data:
	// mask them (sync/diff does) before showing.
	Merged *unstructured.Unstructured
}

// plan is a Comparison plus the object to send when applying for real.
type plan struct {
	Comparison
	toApply *unstructured.Unstructured
}

// Drifted dry-runs every object and reports, without writing anything, which would be
// created or configured and which are unchanged. Comparisons hold only the objects that
// would change, in apply order. Failures are recorded per object and returned joined.
func (m *Manager) Drifted(ctx context.Context, objs []*unstructured.Unstructured) (*ChangeSet, []Comparison, error) {
	items, cs, err := m.prepare(objs)
	if err != nil {
		return cs, nil, err
	}
	namespaces := setNamespaces(items)
	var comps []Comparison
	var errs []error
	for _, g := range groupItems(items) {
		for _, it := range g.items {
			p, err := m.plan(ctx, it, true)
			if err != nil && awaitsDefinition(it, err, namespaces) {
				p, err = plan{Comparison: Comparison{Ref: it.ref, Action: Created, Merged: it.obj.DeepCopy()}}, nil
			}
			if err != nil {
				oerr := objectErr(it.ref, err)
				cs.Add(it.ref, Failed, oerr.msg)
				errs = append(errs, oerr)
				continue
			}
			cs.Add(it.ref, p.Action, "")
			if p.Action != Unchanged {
				comps = append(comps, p.Comparison)
			}
		}
	}
	return cs, comps, errors.Join(errs...)
}

// awaitsDefinition tells whether a dry-run failed only because the object's
// CustomResourceDefinition or Namespace is in the set but not yet in the cluster: such
// an object would be created.
func awaitsDefinition(it item, err error, namespaces map[string]bool) bool {
	if meta.IsNoMatchError(err) {
		return true // prepare accepted an unserved kind only when the set defines it
	}
	return apierrors.IsNotFound(err) && it.stage == stageNamespaced && namespaces[it.ref.Namespace]
}

func setNamespaces(items []item) map[string]bool {
	names := map[string]bool{}
	for _, it := range items {
		if it.ref.Group == "" && it.ref.Kind == "Namespace" {
			names[it.ref.Name] = true
		}
	}
	return names
}

// plan reads the live object and dry-run applies the desired one to find what applying
// would do. For an object that does not exist, the dry-run runs only when dryRunNew is
// set: Apply creates it directly, and the apiserver validates that request as strictly.
func (m *Manager) plan(ctx context.Context, it item, dryRunNew bool) (plan, error) {
	p := plan{Comparison: Comparison{Ref: it.ref, Action: Created}}
	live, err := m.getLive(ctx, it.ref)
	if err != nil {
		return p, err
	}
	if live != nil {
		if err := m.checkOwner(live); err != nil {
			return p, err
		}
	}
	if p.toApply, err = m.desiredFor(it.obj, live, it.ref); err != nil {
		return p, err
	}
	p.Live, p.Merged = live, p.toApply
	if live == nil && !dryRunNew {
		return p, nil
	}
	p.Merged = p.toApply.DeepCopy()
	if err := m.serverApply(ctx, p.Merged, true); err != nil {
		return p, err
	}
	switch {
	case live == nil:
		p.Action = Created
	case unchanged(live, p.Merged):
		p.Action = Unchanged
	default:
		p.Action = Configured
	}
	return p, nil
}

// getLive returns the object in the cluster, or nil when it does not exist.
func (m *Manager) getLive(ctx context.Context, ref ObjectRef) (*unstructured.Unstructured, error) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(ref.GroupVersionKind())
	err := m.client.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, live)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the live object: %w", err)
	}
	return live, nil
}

// checkOwner refuses an object another owner has claimed. Objects without the
// annotation (made by hand, or by an older tool) are adopted.
func (m *Manager) checkOwner(live *unstructured.Unstructured) error {
	if m.opts.Owner == "" {
		return nil
	}
	got := live.GetAnnotations()[m.opts.OwnerAnnotation]
	if got == "" || got == m.opts.Owner || slices.Contains(m.opts.PreviousOwners, got) {
		return nil
	}
	return fmt.Errorf("%w: annotation %s is %q, not %q", ErrOwnedByOther, m.opts.OwnerAnnotation, got, m.opts.Owner)
}

// serverApply applies obj with force under the field manager; obj receives the result.
func (m *Manager) serverApply(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) error {
	opts := []client.ApplyOption{client.FieldOwner(m.opts.FieldManager), client.ForceOwnership}
	if dryRun {
		opts = append(opts, client.DryRunAll)
	}
	return m.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), opts...)
}
