package controllers

import (
	"context"
	"fmt"
	"slices"
	"text/template"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// nsState is how a candidate namespace stands for one pull request.
type nsState int

const (
	nsFree        nsState = iota // does not exist: Landfall may create it
	nsOurs                       // Landfall created it for this pull request
	nsTerminating                // ours, but still being deleted (a pull request closed and reopened)
	nsTaken                      // someone else's: never deployed into, never deleted
)

// namespaceWait is how soon a preview waiting for its old namespace to go looks again.
const namespaceWait = 2 * time.Second

// pickNamespace chooses the pull request's namespace: the template's name, or when a
// namespace Landfall did not create for this pull request holds it, that name with a hash.
// A preview keeps the one it has. Neither free is a failure the user must resolve.
func (r *PreviewReconciler) pickNamespace(ctx context.Context, p *landfallv1.Preview, tmpl *template.Template, pr pullRequest,
	name string, app *landfallv1.Application, crepo *landfallv1.Repository) (string, nsState, previewResult, error) {
	base, err := previewNamespace(tmpl, pr.vars())
	if err != nil {
		return "", nsTaken, previewResult{failure: &previewFailure{reason: landfallv1.ReasonInvalidSpec, message: err.Error()}}, nil
	}
	candidates := []string{base, alternateNamespace(base, p.Namespace+"/"+p.Name+"/"+pr.Ref)}
	current := ""
	if app != nil && len(app.Spec.Environments) == 1 {
		current = app.Spec.Environments[0].Namespace
	}
	if current == candidates[1] {
		candidates[0], candidates[1] = candidates[1], candidates[0]
	}
	if current == candidates[0] && slices.Contains(namespacesOf(crepo), current) {
		// Made and recorded for this pull request before: no need to ask again on every
		// reconcile. Deleted by hand, the Application makes it again with the same owner.
		return current, nsOurs, previewResult{}, nil
	}
	owner := childOwner(p.Namespace, name)
	for _, ns := range candidates {
		st, err := r.namespaceState(ctx, ns, owner)
		switch {
		case err != nil:
			return "", st, previewResult{}, err
		case st == nsFree || st == nsOurs:
			return ns, st, previewResult{}, nil
		case st == nsTerminating:
			return ns, st, previewResult{wait: namespaceWait}, nil
		}
	}
	msg := fmt.Sprintf("namespaces %s and %s exist and were not created by Landfall for this pull request: a preview never deploys into them",
		candidates[0], candidates[1])
	return "", nsTaken, previewResult{failure: &previewFailure{reason: landfallv1.ReasonForbidden, message: msg}}, nil
}

// namespaceState reads a namespace from the apiserver, never a cache: whether Landfall
// may use (or delete) it must not rest on a stale copy.
func (r *PreviewReconciler) namespaceState(ctx context.Context, name, owner string) (nsState, error) {
	ns := &corev1.Namespace{}
	if err := r.Reader.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		if apierrors.IsNotFound(err) {
			return nsFree, nil
		}
		return nsTaken, fmt.Errorf("reading namespace %s: %w", name, err)
	}
	switch {
	case !createdFor(ns, owner):
		return nsTaken, nil
	case !ns.DeletionTimestamp.IsZero():
		return nsTerminating, nil
	}
	return nsOurs, nil
}

// createdFor: Landfall created the namespace for this owner (the annotations the
// Application controller and the Preview controller both write).
func createdFor(ns *corev1.Namespace, owner string) bool {
	return ns.Annotations[annotationCreatedNamespace] == "true" && ns.Annotations[landfallv1.AnnotationOwner] == owner
}

// createNamespace makes the pull request's namespace, marked as Landfall's for its
// Application. Losing a race to someone else is a failure, not a takeover.
func (r *PreviewReconciler) createNamespace(ctx context.Context, p *landfallv1.Preview, pr pullRequest, app, name string) (previewResult, error) {
	owner := childOwner(p.Namespace, app)
	ten, err := r.Tenants.of(ctx, p.Namespace)
	if err != nil {
		return previewResult{}, err
	}
	env := &landfallv1.Environment{Name: previewEnvironment, Namespace: name, Cluster: nil}
	if err := ten.checkEnvironment(env); err != nil {
		return previewResult{failure: &previewFailure{reason: landfallv1.ReasonPolicyViolation, message: err.Error()}}, nil
	}
	labels := childLabels(p, pr)
	// A preview's namespace is its tenant's: labelled as the tenant's namespaces are, and
	// given its default objects (quota, isolation) by the child Application.
	for k, v := range ten.namespaceLabels() {
		labels[k] = v
	}
	labels[landfallv1.LabelManaged] = "true"
	labels[landfallv1.LabelApplication] = applicationLabel(p.Namespace, app)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: map[string]string{
		landfallv1.AnnotationOwner: owner, annotationCreatedNamespace: "true", landfallv1.AnnotationPreviewRef: pr.Ref,
	}}}
	err = r.Create(ctx, ns)
	if err == nil {
		ctrl.LoggerFrom(ctx).Info("Created preview namespace", "namespace", name, "ref", pr.Ref)
		return previewResult{}, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return previewResult{}, fmt.Errorf("creating namespace %s: %w", name, err)
	}
	switch st, err := r.namespaceState(ctx, name, owner); {
	case err != nil:
		return previewResult{}, err
	case st == nsOurs:
		return previewResult{}, nil
	case st == nsTerminating:
		return previewResult{wait: namespaceWait}, nil
	}
	msg := fmt.Sprintf("namespace %s was created by someone else meanwhile: a preview never deploys into it", name)
	return previewResult{failure: &previewFailure{reason: landfallv1.ReasonForbidden, message: msg}}, nil
}

// deleteNamespace deletes a namespace only when Landfall created it for owner, checked on
// the apiserver's copy, with the UID as a precondition so a namespace re-created by someone
// else meanwhile is never the one deleted.
func (r *PreviewReconciler) deleteNamespace(ctx context.Context, name, owner string) error {
	ns := &corev1.Namespace{}
	if err := r.Reader.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !createdFor(ns, owner) {
		ctrl.LoggerFrom(ctx).Info("Leaving a namespace Landfall did not create for this preview", "namespace", name, "owner", owner)
		return nil
	}
	if !ns.DeletionTimestamp.IsZero() {
		return nil
	}
	ctrl.LoggerFrom(ctx).Info("Deleting preview namespace", "namespace", name)
	err := r.Delete(ctx, ns, client.Preconditions{UID: &ns.UID})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// previewURL is the address of the first host of the first Ingress the Application applied
// in the preview's namespace, if any.
func (r *PreviewReconciler) previewURL(ctx context.Context, app *landfallv1.Application, ns string) string {
	for i := range app.Status.Environments {
		inv, err := decodeInventory(&app.Status.Environments[i])
		if err != nil {
			continue
		}
		for _, e := range inv.Entries() {
			if e.Group != networkingv1.GroupName || e.Kind != "Ingress" || e.Namespace != ns {
				continue
			}
			ing := &networkingv1.Ingress{}
			if err := r.Reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: e.Name}, ing); err != nil {
				ctrl.LoggerFrom(ctx).V(1).Info("Cannot read the preview's Ingress", "namespace", ns, "name", e.Name, "error", err.Error())
				continue
			}
			if u := ingressURL(ing); u != "" {
				return u
			}
		}
	}
	return ""
}

// ingressURL is http://<host> of the first rule with a host, https:// when the Ingress
// terminates TLS for that host.
func ingressURL(ing *networkingv1.Ingress) string {
	for _, rule := range ing.Spec.Rules {
		if rule.Host == "" {
			continue
		}
		for _, tls := range ing.Spec.TLS {
			if slices.Contains(tls.Hosts, rule.Host) {
				return "https://" + rule.Host
			}
		}
		return "http://" + rule.Host
	}
	return ""
}
