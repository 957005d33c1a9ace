package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// tenantObjectName names the default objects a policy puts in the namespaces Landfall
// creates for its tenant.
const tenantObjectName = "landfall-tenant"

// namespaceObjects are the default objects of a namespace Landfall creates for the tenant:
// a deny-by-default NetworkPolicy, a ResourceQuota and a LimitRange, each from the first
// policy (by name) that asks for it.
func (t *tenant) namespaceObjects(ns string) []client.Object {
	var out []client.Object
	meta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: tenantObjectName, Namespace: ns, Labels: map[string]string{landfallv1.LabelTenant: t.policies[0].Name}}
	}
	var isolated, quota, limits bool
	for _, p := range t.policies {
		if p.Spec.Isolation != nil && !isolated {
			isolated = true
			out = append(out, isolation(meta(), p.Name, p.Spec.Isolation))
		}
		if len(p.Spec.Quota) > 0 && !quota {
			quota = true
			out = append(out, &corev1.ResourceQuota{ObjectMeta: meta(), Spec: corev1.ResourceQuotaSpec{Hard: resourceList(p.Spec.Quota)}})
		}
		if (len(p.Spec.DefaultLimits) > 0 || len(p.Spec.DefaultRequests) > 0) && !limits {
			limits = true
			out = append(out, &corev1.LimitRange{ObjectMeta: meta(), Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
				Type: corev1.LimitTypeContainer, Default: resourceList(p.Spec.DefaultLimits), DefaultRequest: resourceList(p.Spec.DefaultRequests),
			}}}})
		}
	}
	return out
}

func resourceList(m map[string]resource.Quantity) corev1.ResourceList {
	if len(m) == 0 {
		return nil
	}
	out := corev1.ResourceList{}
	for k, v := range m {
		out[corev1.ResourceName(k)] = v.DeepCopy()
	}
	return out
}

// isolation lets in only pods of the tenant's own namespaces (labelled with its name) and
// of the namespaces allowFrom selects; egress is left open.
func isolation(meta metav1.ObjectMeta, tenant string, iso *landfallv1.TenantIsolation) *networkingv1.NetworkPolicy {
	peers := []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{landfallv1.LabelTenant: tenant}}}}
	for i := range iso.AllowFrom {
		peers = append(peers, networkingv1.NetworkPolicyPeer{NamespaceSelector: iso.AllowFrom[i].DeepCopy()})
	}
	return &networkingv1.NetworkPolicy{ObjectMeta: meta, Spec: networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{}, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		Ingress: []networkingv1.NetworkPolicyIngressRule{{From: peers}},
	}}
}

// ensureNamespaceObjects creates the tenant's default objects in a namespace Landfall
// created, as the client given (the Application's ServiceAccount). It creates what is
// missing and leaves what exists: the platform team may have tuned it.
func ensureNamespaceObjects(ctx context.Context, c client.Client, t *tenant, ns string) error {
	if t == nil || len(t.policies) == 0 {
		return nil
	}
	for _, o := range t.namespaceObjects(ns) {
		if err := c.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating the tenant's default objects in namespace %s: %w", ns, err)
		}
	}
	return nil
}
