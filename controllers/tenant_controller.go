package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// TenantPolicyReconciler tells the platform team whether a TenantPolicy is valid and what
// it selects. Enforcement is the Repository and Application controllers' job: they read the
// policies on every reconcile.
type TenantPolicyReconciler struct {
	client.Client
	// Reader lists namespaces from the apiserver (no namespace cache is kept).
	Reader   client.Reader
	Recorder recorder.EventRecorder
	// Shards, when set, is the shard group: only the policies it owns are checked.
	Shards Ring
}

// tenantRecheck is how often a policy looks again at which namespaces exist.
const tenantRecheck = time.Minute

// Reconcile checks one TenantPolicy.
func (r *TenantPolicyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	p := &landfallv1.TenantPolicy{}
	if err := r.Get(ctx, req.NamespacedName, p); err != nil {
		if apierrors.IsNotFound(err) {
			forgetObject("TenantPolicy", "", req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := p.DeepCopy()
	defer func() {
		retErr = errors.Join(retErr, patchStatusIfChanged(ctx, r.Client, r.Recorder, "TenantPolicy", before, p,
			func(p *landfallv1.TenantPolicy) any { return p.Status }))
	}()
	p.Status.ObservedGeneration = p.Generation
	if bad := badPatterns(&p.Spec); len(bad) > 0 {
		msg := "invalid patterns: " + strings.Join(bad, ", ") + "; the namespaces it selects may deploy nothing until it is fixed"
		markNotReady(p, landfallv1.ReasonInvalidSpec, msg, true)
		r.Recorder.Eventf(p, nil, corev1.EventTypeWarning, landfallv1.ReasonInvalidSpec, "Validate", "%s", msg)
		return ctrl.Result{}, nil
	}
	nss := &corev1.NamespaceList{}
	if err := r.Reader.List(ctx, nss); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing namespaces: %w", err)
	}
	var selected []string
	for _, ns := range nss.Items {
		if matchAny(p.Spec.Namespaces, ns.Name) {
			selected = append(selected, ns.Name)
		}
	}
	p.Status.Namespaces = selected[:min(len(selected), 100)]
	if len(selected) == 0 {
		markNotReady(p, landfallv1.ReasonNothingSelected,
			fmt.Sprintf("no namespace matches %v: the policy confines nobody yet", p.Spec.Namespaces), false)
		return ctrl.Result{RequeueAfter: tenantRecheck}, nil
	}
	markReady(p, landfallv1.ReasonSucceeded, fmt.Sprintf("selects %d namespace(s)", len(selected)))
	return ctrl.Result{RequeueAfter: tenantRecheck}, nil
}

// SetupWithManager watches TenantPolicies.
func (r *TenantPolicyReconciler) SetupWithManager(mgr ctrl.Manager) error {
	b := ctrl.NewControllerManagedBy(mgr).For(&landfallv1.TenantPolicy{}).Named("tenantpolicy")
	return completeSharded(b, mgr, r.Shards, shardKind[*landfallv1.TenantPolicy]{
		kind:   "TenantPolicy",
		newObj: func() *landfallv1.TenantPolicy { return &landfallv1.TenantPolicy{} },
		list: listOf(func() *landfallv1.TenantPolicyList { return &landfallv1.TenantPolicyList{} },
			func(l *landfallv1.TenantPolicyList) []*landfallv1.TenantPolicy { return pointers(l.Items) }),
		keyOf:  func(p *landfallv1.TenantPolicy) string { return "/" + p.Name },
		forget: func(key types.NamespacedName) { forgetObject("TenantPolicy", "", key.Name) },
	}, r)
}

// selectedBy maps a changed TenantPolicy to the objects of kind list in the namespaces it
// selects, so a policy edit takes effect at once rather than at the next resync.
func selectedBy[L client.ObjectList](c client.Reader, newList func() L, items func(L) []client.Object) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		p, ok := o.(*landfallv1.TenantPolicy)
		if !ok {
			return nil
		}
		list := newList()
		if err := c.List(ctx, list); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Cannot list the objects a TenantPolicy confines", "policy", p.Name)
			return nil
		}
		var reqs []reconcile.Request
		for _, obj := range items(list) {
			if matchAny(p.Spec.Namespaces, obj.GetNamespace()) {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
			}
		}
		return reqs
	}
}

// objectsOf turns a list's items into objects.
func objectsOf[T any, PT interface {
	*T
	client.Object
}](items []T) []client.Object {
	out := make([]client.Object, len(items))
	for i := range items {
		out[i] = PT(&items[i])
	}
	return out
}
