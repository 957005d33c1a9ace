package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/sync/apply"
	"github.com/landfall-dev/landfall/sync/rollout"
)

// applier returns the apply manager of one environment of one Application. The replicas
// of workloads an HPA scales (in the same set) are left to the HPA: Landfall never fights
// an autoscaler.
func (r *ApplicationReconciler) applier(dest *destination, app *landfallv1.Application, env string, objs ...*unstructured.Unstructured) (*apply.Manager, error) {
	return r.applierCounting(dest, app, env, nil, objs...)
}

// applierCounting is applier, except that the Deployments named in counted (keyed by
// rollout.LiveKey) get the count objs gives them: a canary's split of an autoscaled one.
func (r *ApplicationReconciler) applierCounting(dest *destination, app *landfallv1.Application, env string,
	counted map[string]bool, objs ...*unstructured.Unstructured) (*apply.Manager, error) {
	scaled := hpaTargets(objs)
	return apply.New(dest.client, apply.Options{
		FieldManager:    landfallv1.FieldManager,
		OwnerAnnotation: landfallv1.AnnotationOwner,
		Owner:           ownerOf(app, env),
		PreviousOwners:  previousOwners(app),
		WaveAnnotation:  landfallv1.AnnotationSyncWave,
		ForceAnnotation: landfallv1.AnnotationForce,
		Force:           app.Annotations[landfallv1.AnnotationForce] == "true",
		DropFields: func(ref apply.ObjectRef) []string {
			if scaled[ref.Kind+"/"+ref.Namespace+"/"+ref.Name] && !counted[rollout.LiveKey(ref.Namespace, ref.Name)] {
				return []string{"/spec/replicas"}
			}
			return nil
		},
	})
}

// hpaTargets names ("Kind/namespace/name") the objects a HorizontalPodAutoscaler scales.
func hpaTargets(objs []*unstructured.Unstructured) map[string]bool {
	out := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() != "HorizontalPodAutoscaler" {
			continue
		}
		kind, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "kind")
		name, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "name")
		if kind != "" && name != "" {
			out[kind+"/"+o.GetNamespace()+"/"+name] = true
		}
	}
	return out
}

func recordChanges(app *landfallv1.Application, env string, cs *apply.ChangeSet) {
	if cs == nil {
		return
	}
	for action, n := range cs.Counts() {
		objectChanges.WithLabelValues(app.Namespace, app.Name, env, strings.ToLower(string(action))).Add(float64(n))
	}
}

// reportDrift compares live objects with Git without changing them (self-heal is off), and
// names what differs.
func (r *ApplicationReconciler) reportDrift(ctx context.Context, app *landfallv1.Application, env string,
	st *landfallv1.EnvironmentStatus, dest *destination, objs []*unstructured.Unstructured) envOutcome {
	mgr, err := r.applier(dest, app, env, objs...)
	if err != nil {
		return failed(landfallv1.ReasonApplyFailed, err, false)
	}
	drifted, _, err := mgr.Drifted(ctx, objs)
	if err != nil {
		r.Drift.markDirty(envKey{app.Namespace, app.Name, env})
		return failed(landfallv1.ReasonApplyFailed, fmt.Errorf("comparing live objects: %w", err), false)
	}
	var names []string
	for _, a := range []apply.Action{apply.Created, apply.Configured} {
		for _, ref := range drifted.Refs(a) {
			names = append(names, ref.String())
		}
	}
	if len(names) == 0 {
		st.Sync, st.OutOfSync = landfallv1.SyncSynced, nil
		return envOutcome{}
	}
	st.Sync = landfallv1.SyncOutOfSync
	st.OutOfSync = names[:min(len(names), 20)]
	st.Message = fmt.Sprintf("%d object(s) differ from Git and self-heal is off: %s", len(names), strings.Join(st.OutOfSync, ", "))
	r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, "OutOfSync", "Compare", "environment %s: %s", env, st.Message)
	return envOutcome{}
}

// finalize deletes what the Application created, in every environment it ever applied
// (removed ones included), then lets it go. Objects Landfall did not create (no matching
// owner annotation) are never touched.
func (r *ApplicationReconciler) finalize(ctx context.Context, app *landfallv1.Application) error {
	if !controllerutil.ContainsFinalizer(app, finalizer) {
		return nil
	}
	var errs []error
	if app.Spec.Prune {
		for _, st := range append(slices.Clone(app.Status.Environments), app.Status.RemovedEnvironments...) {
			errs = append(errs, r.deleteEnvironment(ctx, app, st, clusterOf(app, st)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, "DeleteFailed", "Delete", "%s", err.Error())
		return err
	}
	r.Drift.forget(app.Namespace, app.Name)
	r.Rendered.forget(app.Namespace, app.Name)
	controllerutil.RemoveFinalizer(app, finalizer)
	ctrl.LoggerFrom(ctx).Info("Deleted application objects")
	return r.Update(ctx, app)
}

// clusterOf is where an environment's objects are: the spec's cluster while it is in the
// spec, else the one recorded in its status.
func clusterOf(app *landfallv1.Application, st landfallv1.EnvironmentStatus) *landfallv1.ClusterRef {
	for _, e := range app.Spec.Environments {
		if e.Name == st.Name {
			return e.Cluster
		}
	}
	return st.Cluster
}

func (r *ApplicationReconciler) deleteEnvironment(ctx context.Context, app *landfallv1.Application, st landfallv1.EnvironmentStatus, cluster *landfallv1.ClusterRef) error {
	if st.Inventory == nil {
		return nil
	}
	inv, err := decodeInventory(&st)
	if err != nil {
		return err
	}
	dest, err := r.Clusters.forApplication(ctx, app, cluster)
	if err != nil {
		return err
	}
	mgr, err := r.applier(dest, app, st.Name)
	if err != nil {
		return err
	}
	_, _, err = mgr.Prune(ctx, refsOf(inv))
	return err
}

// ensureNamespace creates the environment's namespace when it is missing, marked with the
// owner annotation so a Preview may delete it later, labelled for its tenant and given the
// tenant's default objects. An existing namespace is left as is: Landfall never adopts, and
// so never deletes, a namespace it did not create. The create comes first (a new
// environment's namespace is usually missing) and an existing one is read only then; a
// namespace seen once is not asked for again at every apply: an apply that fails forgets
// it (it may have been deleted).
func (r *ApplicationReconciler) ensureNamespace(ctx context.Context, dest *destination, app *landfallv1.Application, env string, name string, ten *tenant) error {
	created, ok := r.namespaces.get(dest.key, name)
	if !ok {
		var err error
		if created, err = r.createNamespace(ctx, dest, app, env, name, ten); err != nil {
			return err
		}
	}
	if created {
		return ensureNamespaceObjects(ctx, dest.client, ten, name)
	}
	return nil
}

// createNamespace creates the namespace, or reads the existing one, and tells whether
// Landfall created it.
func (r *ApplicationReconciler) createNamespace(ctx context.Context, dest *destination, app *landfallv1.Application,
	env string, name string, ten *tenant) (bool, error) {
	labels := ten.namespaceLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[landfallv1.LabelManaged] = "true"
	labels[landfallv1.LabelApplication] = applicationLabel(app.Namespace, app.Name)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels,
		Annotations: map[string]string{landfallv1.AnnotationOwner: ownerOf(app, env), annotationCreatedNamespace: "true"},
	}}
	createErr := dest.client.Create(ctx, ns)
	if createErr == nil {
		r.namespaces.put(dest.key, name, true)
		return true, nil
	}
	if !apierrors.IsAlreadyExists(createErr) && !apierrors.IsForbidden(createErr) {
		return false, fmt.Errorf("creating namespace %s: %w", name, createErr)
	}
	// There already, or not Landfall's to create: read it.
	ns = &corev1.Namespace{}
	err := dest.client.Get(ctx, client.ObjectKey{Name: name}, ns)
	switch {
	case err == nil:
		created := ns.Annotations[annotationCreatedNamespace] == "true"
		r.namespaces.put(dest.key, name, created)
		return created, nil
	case apierrors.IsForbidden(err) && dest.user != "":
		// A ServiceAccount that may not read namespaces deploys into one the platform
		// made; if it is missing, the apply says so.
		return false, nil
	case apierrors.IsNotFound(err):
		return false, fmt.Errorf("creating namespace %s: %w", name, createErr)
	default:
		return false, err
	}
}

// knownNamespaces remembers the namespaces ensureNamespace has seen, per destination, and
// whether Landfall created them.
type knownNamespaces struct {
	mu      sync.Mutex
	created map[[2]string]bool // by destination key and name
}

func (k *knownNamespaces) get(dest, name string) (created, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	created, ok = k.created[[2]string{dest, name}]
	return created, ok
}

func (k *knownNamespaces) put(dest, name string, created bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.created == nil {
		k.created = map[[2]string]bool{}
	}
	k.created[[2]string{dest, name}] = created
}

func (k *knownNamespaces) forget(dest, name string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.created, [2]string{dest, name})
}

// annotationCreatedNamespace marks a namespace Landfall created for an environment.
const annotationCreatedNamespace = "landfall.dev/created-namespace"
