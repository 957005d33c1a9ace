package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// errNoOwner guards against deleting without an ownership check.
var errNoOwner = errors.New("apply: prune needs OwnerAnnotation and Owner")

// Prune deletes the stale objects (in the inventory, no longer desired) that exist and
// carry the owner annotation with Options.Owner. Objects without it, or owned by another
// owner, are Skipped and never deleted; objects already gone count as Pruned. Deletion
// runs in reverse apply order, Namespaces last, with background propagation.
//
// The first apiserver error (including timeouts and throttling) stops the prune: the
// returned keep list holds the object that failed and every one not yet handled, for the
// caller to put back into its inventory, and the error says which object failed. Skipped
// objects are not kept: they are not ours to delete.
func (m *Manager) Prune(ctx context.Context, stale []ObjectRef) (*ChangeSet, []ObjectRef, error) {
	cs := &ChangeSet{}
	if m.opts.Owner == "" {
		return cs, slices.Clone(stale), errNoOwner
	}
	logger := log.FromContext(ctx)
	refs := sortForPrune(stale)
	for i, ref := range refs {
		action, msg, err := m.deleteOne(ctx, ref)
		if err != nil {
			oerr := objectErr(ref, err)
			cs.Add(ref, Failed, oerr.msg)
			for _, rest := range refs[i+1:] {
				cs.Add(rest, Skipped, "not pruned: the prune stopped at an error")
			}
			return cs, slices.Clone(refs[i:]), fmt.Errorf("prune stopped: %w", oerr)
		}
		cs.Add(ref, action, msg)
		logger.V(1).Info("Pruned object", "object", ref.String(), "action", string(action))
	}
	return cs, nil, nil
}

// DeleteAll deletes every object of an inventory, for an Application that is being
// deleted, with the same ownership check, order and error handling as Prune. The mass
// prune guard does not apply: deleting everything is the point.
func (m *Manager) DeleteAll(ctx context.Context, inventory []ObjectRef) (*ChangeSet, []ObjectRef, error) {
	return m.Prune(ctx, inventory)
}

// deleteOne deletes one object if it exists and is ours. Only metadata is read, so a
// Secret's data never passes through here.
func (m *Manager) deleteOne(ctx context.Context, ref ObjectRef) (Action, string, error) {
	live := &metav1.PartialObjectMetadata{}
	live.SetGroupVersionKind(ref.GroupVersionKind())
	err := m.client.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, live)
	if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
		return Pruned, "already gone", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("reading before delete: %w", err)
	}
	if owner := live.GetAnnotations()[m.opts.OwnerAnnotation]; owner != m.opts.Owner {
		if owner == "" {
			return Skipped, fmt.Sprintf("not deleted: no %s annotation", m.opts.OwnerAnnotation), nil
		}
		return Skipped, fmt.Sprintf("not deleted: %s is %q", m.opts.OwnerAnnotation, owner), nil
	}
	// The UID precondition makes sure we delete the object we checked, not one someone
	// re-created under the same name since.
	uid := live.GetUID()
	err = m.client.Delete(ctx, live,
		client.PropagationPolicy(metav1.DeletePropagationBackground), client.Preconditions{UID: &uid})
	if apierrors.IsNotFound(err) {
		return Pruned, "already gone", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("deleting: %w", err)
	}
	return Pruned, "", nil
}
