package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/sync/source"
)

// previewEnvironment is the one environment of a preview's Application.
const previewEnvironment = "preview"

// childRepositoryInterval is how often a child Repository polls by itself. The Preview lists
// the pull requests' refs at its Repository's interval (and on webhooks) and asks a child
// to fetch when its head moves, so a child's own poll is only a safety net.
const childRepositoryInterval = time.Hour

// previewChildren are a Preview's child Applications and Repositories, by name.
type previewChildren struct {
	apps  map[string]*landfallv1.Application
	repos map[string]*landfallv1.Repository
}

// children lists the objects the Preview controls (label and controller reference both),
// from c: the cache, or the apiserver itself when nothing may be missed.
func (r *PreviewReconciler) children(ctx context.Context, c client.Reader, p *landfallv1.Preview) (previewChildren, error) {
	kids := previewChildren{apps: map[string]*landfallv1.Application{}, repos: map[string]*landfallv1.Repository{}}
	sel := client.MatchingLabels{landfallv1.LabelPreview: previewLabel(p)}
	apps := &landfallv1.ApplicationList{}
	if err := c.List(ctx, apps, client.InNamespace(p.Namespace), sel); err != nil {
		return kids, err
	}
	for i := range apps.Items {
		if metav1.IsControlledBy(&apps.Items[i], p) {
			kids.apps[apps.Items[i].Name] = &apps.Items[i]
		}
	}
	repos := &landfallv1.RepositoryList{}
	if err := c.List(ctx, repos, client.InNamespace(p.Namespace), sel); err != nil {
		return kids, err
	}
	for i := range repos.Items {
		if metav1.IsControlledBy(&repos.Items[i], p) {
			kids.repos[repos.Items[i].Name] = &repos.Items[i]
		}
	}
	return kids, nil
}

// syncOutcome is what bringing the children in line found.
type syncOutcome struct {
	wait     time.Duration // come back this soon (a namespace is still being deleted)
	failures []previewFailure
}

// previewFailure is a running preview the user must look at.
type previewFailure struct {
	reason, message string
}

// syncChildren makes sure every Running entry has its namespace, Repository and
// Application, up to date, and fills in the entry; it deletes the children of every other
// pull request.
func (r *PreviewReconciler) syncChildren(ctx context.Context, p *landfallv1.Preview, parent *landfallv1.Repository,
	tmpl *template.Template, entries []landfallv1.PreviewEntry) (syncOutcome, error) {
	var out syncOutcome
	kids, err := r.children(ctx, r.Client, p)
	if err != nil {
		return out, err
	}
	wanted := map[string]bool{}
	var errs []error
	for i := range entries {
		e := &entries[i]
		if e.State != landfallv1.PreviewRunning {
			continue
		}
		rev, err := source.ParseRevision(e.Revision)
		if err != nil {
			return out, err
		}
		pr := pullRequestOf(e.Ref, rev.Commit)
		wanted[childName(p.Name, pr)] = true
		// One pull request's trouble never holds up the others.
		res, err := r.ensurePreview(ctx, p, parent, tmpl, pr, e, kids)
		if apierrors.IsInvalid(err) {
			res.failure = &previewFailure{reason: landfallv1.ReasonInvalidSpec, message: err.Error()}
		} else if err != nil {
			errs = append(errs, fmt.Errorf("preview of %s: %w", e.Ref, err))
			e.Message = err.Error()
		}
		if res.wait > 0 && (out.wait == 0 || res.wait < out.wait) {
			out.wait = res.wait
		}
		if res.failure != nil {
			e.Health = landfallv1.HealthDegraded
			if e.Message == "" {
				e.Message = res.failure.message
			}
			out.failures = append(out.failures, *res.failure)
		}
	}
	if _, err := r.removeChildren(ctx, p, kids, wanted); err != nil {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

// previewResult is how one pull request's preview stands.
type previewResult struct {
	wait    time.Duration
	failure *previewFailure
}

// ensurePreview creates or updates one pull request's namespace, Repository and
// Application, in that order: the namespace is recorded on the Repository before it is
// created, so it is never lost; the Application comes last, into a namespace that is ours.
func (r *PreviewReconciler) ensurePreview(ctx context.Context, p *landfallv1.Preview, parent *landfallv1.Repository,
	tmpl *template.Template, pr pullRequest, e *landfallv1.PreviewEntry, kids previewChildren) (previewResult, error) {
	name := childName(p.Name, pr)
	app, crepo := kids.apps[name], kids.repos[name]
	e.Application = name
	ns, state, res, err := r.pickNamespace(ctx, p, tmpl, pr, name, app, crepo)
	if err == nil && res.wait > 0 {
		e.Health, e.Message = landfallv1.HealthProgressing, fmt.Sprintf("waiting for namespace %s, being deleted, to go", ns)
	}
	if err != nil || res.wait > 0 || res.failure != nil {
		return res, err
	}
	if crepo, err = r.ensureChildRepository(ctx, p, parent, pr, name, ns, crepo); err != nil {
		return res, err
	}
	if state == nsFree {
		if res, err := r.createNamespace(ctx, p, pr, name, ns); err != nil || res.failure != nil || res.wait > 0 {
			return res, err
		}
	}
	if app, err = r.ensureChildApplication(ctx, p, pr, name, ns, app); err != nil {
		return res, err
	}
	if err := r.dropStaleNamespaces(ctx, crepo, ns, app); err != nil {
		return res, err
	}
	return r.describe(ctx, e, app, ns), nil
}

// ensureChildRepository creates or updates the Repository that follows the pull request's
// ref, recording ns among the namespaces made for it. Its reconcile-requested-at annotation
// is the head commit: a new commit makes it fetch at once.
func (r *PreviewReconciler) ensureChildRepository(ctx context.Context, p *landfallv1.Preview, parent *landfallv1.Repository,
	pr pullRequest, name, ns string, existing *landfallv1.Repository) (*landfallv1.Repository, error) {
	recorded := namespacesOf(existing)
	if !slices.Contains(recorded, ns) {
		recorded = append(recorded, ns)
	}
	want := childRepository(p, parent, pr, name, recorded)
	if existing == nil {
		if err := controllerutil.SetControllerReference(p, want, r.Scheme()); err != nil {
			return nil, err
		}
		return want, r.Create(ctx, want)
	}
	if equality.Semantic.DeepEqual(existing.Spec, want.Spec) && hasAll(existing.Labels, want.Labels) &&
		hasAll(existing.Annotations, want.Annotations) {
		return existing, nil
	}
	updated := existing.DeepCopy()
	updated.Spec = want.Spec
	updated.Labels = merged(updated.Labels, want.Labels)
	updated.Annotations = merged(updated.Annotations, want.Annotations)
	return updated, r.Update(ctx, updated)
}

// childRepository is the Repository of one pull request: the Preview's Repository's URL and
// credentials, following the pull request's ref by name (a pull request's ref is neither a
// branch nor a tag, and Git servers need not serve a commit by its hash).
func childRepository(p *landfallv1.Preview, parent *landfallv1.Repository, pr pullRequest, name string, namespaces []string) *landfallv1.Repository {
	return &landfallv1.Repository{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.Namespace, Labels: childLabels(p, pr),
			Annotations: map[string]string{
				landfallv1.AnnotationPreviewRef:           pr.Ref,
				landfallv1.AnnotationPreviewNamespaces:    strings.Join(namespaces, ","),
				landfallv1.AnnotationReconcileRequestedAt: pr.Commit,
			}},
		Spec: landfallv1.RepositorySpec{
			URL: parent.Spec.URL, Ref: landfallv1.GitRef{Name: pr.Ref},
			Interval: &metav1.Duration{Duration: childRepositoryInterval}, Timeout: parent.Spec.Timeout.DeepCopy(),
			SecretRef: parent.Spec.SecretRef.DeepCopy(), Insecure: parent.Spec.Insecure,
		},
	}
}

// ensureChildApplication creates or updates the pull request's Application.
func (r *PreviewReconciler) ensureChildApplication(ctx context.Context, p *landfallv1.Preview, pr pullRequest,
	name, ns string, existing *landfallv1.Application) (*landfallv1.Application, error) {
	want := childApplication(p, pr, name, ns)
	if existing == nil {
		if err := controllerutil.SetControllerReference(p, want, r.Scheme()); err != nil {
			return nil, err
		}
		ctrl.LoggerFrom(ctx).Info("Creating preview", "ref", pr.Ref, "application", name, "namespace", ns)
		return want, r.Create(ctx, want)
	}
	if equality.Semantic.DeepEqual(existing.Spec, want.Spec) && hasAll(existing.Labels, want.Labels) {
		return existing, nil
	}
	updated := existing.DeepCopy()
	updated.Spec = want.Spec
	updated.Labels = merged(updated.Labels, want.Labels)
	updated.Annotations = merged(updated.Annotations, want.Annotations)
	return updated, r.Update(ctx, updated)
}

// childApplication deploys the pull request's Repository into ns, and nowhere else:
// cluster-scoped kinds and other namespaces are refused at render, so a pull request that
// tries has nothing applied. It prunes, and its finalizer deletes what it applied.
func childApplication(p *landfallv1.Preview, pr pullRequest, name, ns string) *landfallv1.Application {
	return &landfallv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.Namespace, Labels: childLabels(p, pr),
			Annotations: map[string]string{landfallv1.AnnotationPreviewRef: pr.Ref}},
		Spec: landfallv1.ApplicationSpec{
			RepositoryRef: landfallv1.LocalObjectReference{Name: name},
			Path:          p.Spec.Path,
			Environments: []landfallv1.Environment{{Name: previewEnvironment, Namespace: ns,
				EnvironmentTemplate: *p.Spec.Template.DeepCopy()}},
			Prune: true, SelfHeal: true, Rollout: p.Spec.Rollout.DeepCopy(),
			AllowClusterScoped: false, AllowedNamespaces: nil, ServiceAccountName: p.Spec.ServiceAccountName,
		},
	}
}

// describe fills a running entry from its Application: health, a message when it is not
// ready or not yet at the head, and a URL. A child the user must fix is a failure.
func (r *PreviewReconciler) describe(ctx context.Context, e *landfallv1.PreviewEntry, app *landfallv1.Application, ns string) previewResult {
	e.Namespace, e.Message = ns, ""
	e.Health = app.Status.Health
	if e.Health == "" {
		e.Health = landfallv1.HealthUnknown
	}
	var applied string
	for _, st := range app.Status.Environments {
		if st.Name == previewEnvironment {
			applied = st.Revision
		}
	}
	ready := apimeta.FindStatusCondition(app.Status.Conditions, landfallv1.ConditionReady)
	switch {
	case ready != nil && ready.Status == metav1.ConditionFalse:
		e.Message = ready.Message
	case applied != e.Revision:
		e.Message = "deploying " + e.Revision
	}
	if applied != e.Revision && e.Health == landfallv1.HealthHealthy {
		e.Health = landfallv1.HealthProgressing // healthy, but not yet at the head
	}
	e.URL = r.previewURL(ctx, app, ns)
	if c := apimeta.FindStatusCondition(app.Status.Conditions, landfallv1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
		msg := fmt.Sprintf("pull request %s: %s", describeRef(e), c.Message)
		return previewResult{failure: &previewFailure{reason: c.Reason, message: msg}}
	}
	return previewResult{}
}

// removeChildren deletes the children of pull requests not wanted: the Application first,
// whose finalizer prunes what it applied; once it is gone, the namespaces made for it and
// its Repository. It reports whether some are still on their way out.
func (r *PreviewReconciler) removeChildren(ctx context.Context, p *landfallv1.Preview, kids previewChildren, wanted map[string]bool) (bool, error) {
	pending := false
	for name, app := range kids.apps {
		if wanted[name] {
			continue
		}
		pending = true
		if app.DeletionTimestamp.IsZero() {
			ctrl.LoggerFrom(ctx).Info("Deleting preview", "application", name, "ref", app.Annotations[landfallv1.AnnotationPreviewRef])
			if err := r.Delete(ctx, app); client.IgnoreNotFound(err) != nil {
				return pending, err
			}
		}
	}
	for name, crepo := range kids.repos {
		if wanted[name] || kids.apps[name] != nil {
			continue
		}
		// The cache may not show an Application created a moment ago: ask the apiserver
		// before deleting the namespace that Application deploys to.
		err := r.Reader.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: name}, &landfallv1.Application{})
		if err == nil || !apierrors.IsNotFound(err) {
			pending = true
			if err != nil {
				return pending, err
			}
			continue
		}
		for _, ns := range namespacesOf(crepo) {
			if err := r.deleteNamespace(ctx, ns, childOwner(p.Namespace, name)); err != nil {
				return pending, err
			}
		}
		if err := r.Delete(ctx, crepo); client.IgnoreNotFound(err) != nil {
			return pending, err
		}
	}
	return pending, nil
}

// dropStaleNamespaces deletes the namespaces made for a pull request that its Application
// no longer deploys to (a template with {{.ShortSHA}} makes one per commit), once the
// Application's inventory has nothing left in them.
func (r *PreviewReconciler) dropStaleNamespaces(ctx context.Context, crepo *landfallv1.Repository, current string, app *landfallv1.Application) error {
	recorded := namespacesOf(crepo)
	if len(recorded) <= 1 {
		return nil
	}
	inUse := inventoryNamespaces(app)
	var keep []string
	for _, ns := range recorded {
		if ns == current || inUse[ns] {
			keep = append(keep, ns)
			continue
		}
		if err := r.deleteNamespace(ctx, ns, childOwner(app.Namespace, app.Name)); err != nil {
			return err
		}
	}
	if len(keep) == len(recorded) {
		return nil
	}
	updated := crepo.DeepCopy()
	updated.Annotations[landfallv1.AnnotationPreviewNamespaces] = strings.Join(keep, ",")
	return r.Update(ctx, updated)
}

// inventoryNamespaces are the namespaces an Application's inventory has objects in.
func inventoryNamespaces(app *landfallv1.Application) map[string]bool {
	out := map[string]bool{}
	for i := range app.Status.Environments {
		inv, err := decodeInventory(&app.Status.Environments[i])
		if err != nil {
			continue
		}
		for _, e := range inv.Entries() {
			out[e.Namespace] = true
		}
	}
	return out
}

// childLabels name the Preview and the pull request on every child.
func childLabels(p *landfallv1.Preview, pr pullRequest) map[string]string {
	return map[string]string{landfallv1.LabelPreview: previewLabel(p),
		landfallv1.LabelPullRequest: strconv.FormatInt(pr.Number, 10)}
}

func previewLabel(p *landfallv1.Preview) string { return applicationLabel(p.Namespace, p.Name) }

// childOwner is the owner annotation of what a child Application applies, and of the
// namespaces made for it: "<namespace>/<application>/preview".
func childOwner(namespace, app string) string {
	return namespace + "/" + app + "/" + previewEnvironment
}

// namespacesOf reads the namespaces recorded on a child Repository.
func namespacesOf(crepo *landfallv1.Repository) []string {
	if crepo == nil || crepo.Annotations[landfallv1.AnnotationPreviewNamespaces] == "" {
		return nil
	}
	return strings.Split(crepo.Annotations[landfallv1.AnnotationPreviewNamespaces], ",")
}

func describeRef(e *landfallv1.PreviewEntry) string {
	if e.Number > 0 {
		return fmt.Sprintf("#%d", e.Number)
	}
	return e.Ref
}

func hasAll(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func merged(into, from map[string]string) map[string]string {
	if into == nil {
		into = map[string]string{}
	}
	for k, v := range from {
		into[k] = v
	}
	return into
}
