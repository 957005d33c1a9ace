package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/sync/apply"
	"github.com/landfall-dev/landfall/sync/inventory"
	"github.com/landfall-dev/landfall/sync/source"
	"github.com/landfall-dev/landfall/sync/window"
)

// environmentStatus returns the status entry of an environment, adding it when missing.
// Entries of environments no longer in the spec have moved to removedEnvironments
// (retireEnvironments).
func environmentStatus(app *landfallv1.Application, name string) *landfallv1.EnvironmentStatus {
	for i := range app.Status.Environments {
		if app.Status.Environments[i].Name == name {
			return &app.Status.Environments[i]
		}
	}
	app.Status.Environments = append(app.Status.Environments, landfallv1.EnvironmentStatus{
		Name: name, Sync: landfallv1.SyncUnknown, Health: landfallv1.HealthUnknown,
	})
	return &app.Status.Environments[len(app.Status.Environments)-1]
}

// summarize sets the Application-wide sync and health from its environments: the worst.
func summarize(app *landfallv1.Application) {
	app.Status.Sync, app.Status.Health = landfallv1.SyncSynced, landfallv1.HealthHealthy
	if len(app.Status.Environments) < len(app.Spec.Environments) {
		app.Status.Sync = landfallv1.SyncOutOfSync
	}
	for _, e := range app.Status.Environments {
		if e.Sync != landfallv1.SyncSynced {
			app.Status.Sync = landfallv1.SyncOutOfSync
		}
		if healthRank(e.Health) > healthRank(app.Status.Health) {
			app.Status.Health = e.Health
		}
	}
}

func healthRank(h landfallv1.Health) int {
	return slices.Index([]landfallv1.Health{landfallv1.HealthHealthy, landfallv1.HealthSuspended,
		landfallv1.HealthUnknown, landfallv1.HealthProgressing, landfallv1.HealthDegraded}, h)
}

// ownerOf is the ownership annotation value of an environment's objects.
func ownerOf(app *landfallv1.Application, env string) string {
	return app.Namespace + "/" + app.Name + "/" + env
}

// applicationLabel is "<namespace>.<name>", hashed down when longer than a label value may be.
func applicationLabel(namespace, name string) string {
	v := namespace + "." + name
	if len(v) <= 63 {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return v[:50] + "-" + hex.EncodeToString(sum[:])[:12]
}

// stamp marks every object as Landfall's, for this Application and environment.
func stamp(objs []*unstructured.Unstructured, app *landfallv1.Application, env string) []*unstructured.Unstructured {
	for _, o := range objs {
		labels := o.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[landfallv1.LabelManaged] = "true"
		labels[landfallv1.LabelApplication] = applicationLabel(app.Namespace, app.Name)
		labels[landfallv1.LabelEnvironment] = env
		o.SetLabels(labels)
		ann := o.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann[landfallv1.AnnotationOwner] = ownerOf(app, env)
		o.SetAnnotations(ann)
	}
	return objs
}

func decodeInventory(st *landfallv1.EnvironmentStatus) (inventory.Inventory, error) {
	if st.Inventory == nil {
		return inventory.Inventory{}, nil
	}
	inv, err := inventory.DecodeCompact(st.Inventory.Entries, st.Inventory.Compressed)
	if err != nil {
		return inventory.Inventory{}, fmt.Errorf("reading the inventory in status: %w", err)
	}
	return inv, nil
}

func encodeInventory(inv inventory.Inventory) *landfallv1.Inventory {
	if inv.Len() == 0 {
		return nil
	}
	c, err := inv.EncodeCompact()
	if err != nil {
		// gzip into memory cannot fail; should it, the readable form is still correct
		// (and the status write reports it if it is too large).
		return &landfallv1.Inventory{Entries: inv.Encode(), Count: int32(inv.Len())}
	}
	return &landfallv1.Inventory{Entries: c.Entries, Compressed: c.Compressed, Count: int32(c.Count)}
}

func entryOf(r apply.ObjectRef) inventory.Entry {
	return inventory.Entry{ObjMetadata: inventory.ObjMetadata{Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}, Version: r.Version}
}

// applied is the inventory of the objects a (partly failed) apply wrote or found.
func applied(cs *apply.ChangeSet) inventory.Inventory {
	var entries []inventory.Entry
	for _, a := range []apply.Action{apply.Created, apply.Configured, apply.Unchanged} {
		for _, r := range cs.Refs(a) {
			entries = append(entries, entryOf(r))
		}
	}
	inv, _ := inventory.New(entries...)
	return inv
}

func refsOf(inv inventory.Inventory) []apply.ObjectRef {
	var refs []apply.ObjectRef
	for _, e := range inv.Entries() {
		refs = append(refs, apply.ObjectRef{Group: e.Group, Version: e.Version, Kind: e.Kind, Namespace: e.Namespace, Name: e.Name})
	}
	return refs
}

// inventoryOf turns the refs a prune kept back into inventory entries.
func inventoryOf(refs []apply.ObjectRef, _ inventory.Inventory) inventory.Inventory {
	entries := make([]inventory.Entry, 0, len(refs))
	for _, r := range refs {
		entries = append(entries, entryOf(r))
	}
	inv, _ := inventory.New(entries...)
	return inv
}

func evaluateWindows(spec []landfallv1.SyncWindow, now time.Time) (window.Verdict, error) {
	return window.Evaluate(windowsOf(spec), now)
}

func windowsOf(spec []landfallv1.SyncWindow) []window.Window {
	out := make([]window.Window, 0, len(spec))
	for _, w := range spec {
		out = append(out, window.Window{Kind: window.Kind(w.Kind), Schedule: w.Schedule, Duration: w.Duration.Duration,
			TimeZone: w.TimeZone, ManualSync: w.ManualSync})
	}
	return out
}

// validateApplication catches what the CRD's validation cannot: cron schedules, time
// zones, and pins that name no environment or no revision.
func validateApplication(app *landfallv1.Application) error {
	if err := window.Validate(windowsOf(app.Spec.SyncWindows)); err != nil {
		return err
	}
	return validatePins(app)
}

// validatePins refuses a pin on an environment the spec does not have (a typo would
// otherwise pin nothing, silently) and a pin that is not a revision.
func validatePins(app *landfallv1.Application) error {
	for k, v := range app.Annotations {
		env, ok := strings.CutPrefix(k, landfallv1.AnnotationPinPrefix)
		if !ok {
			continue
		}
		if !slices.ContainsFunc(app.Spec.Environments, func(e landfallv1.Environment) bool { return e.Name == env }) {
			return fmt.Errorf("annotation %s pins environment %q, which the spec does not have", k, env)
		}
		if _, err := source.ParseRevision(v); err != nil {
			return fmt.Errorf("annotation %s: %w", k, err)
		}
	}
	return nil
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
