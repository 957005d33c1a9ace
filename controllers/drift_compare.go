package controllers

import (
	"context"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/health"
	"github.com/landfall-dev/landfall/sync/apply"
	"github.com/landfall-dev/landfall/sync/inventory"
)

// The periodic comparison catches what informers cannot see: a namespace Landfall may not
// watch, a kind it may not list cluster-wide, a cluster whose credentials changed. Once per
// resync it lists the metadata of an environment's objects (one request per kind and
// namespace, selected by the environment's labels) and compares each with what it was
// right after the last full comparison. An object whose resourceVersion is unchanged is
// skipped; one whose generation, labels and annotations are unchanged had only its status
// written. Anything else, or an object gone, makes the next pass compare in full.

// fingerprint is what the comparison remembers of one live object.
type fingerprint struct {
	resourceVersion string
	generation      int64
	meta            string // labels and annotations, bookkeeping left out
}

func fingerprintOf(m *metav1.PartialObjectMetadata) fingerprint {
	return fingerprint{resourceVersion: m.ResourceVersion, generation: m.Generation,
		meta: flatten(withoutBookkeeping(m.Labels)) + "\x00" + flatten(withoutBookkeeping(m.Annotations))}
}

func flatten(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		keys = append(keys, k+"="+v)
	}
	sort.Strings(keys)
	return strings.Join(keys, "\x01")
}

// changedSince reports whether a live object is no longer what was remembered.
func (f fingerprint) changedSince(old fingerprint) bool {
	if f.resourceVersion == old.resourceVersion {
		return false
	}
	if f.generation != 0 && f.generation == old.generation {
		return f.meta != old.meta
	}
	return true
}

// liveSnapshot is the fingerprints of an environment's objects, by inventory ID.
type liveSnapshot map[inventory.ObjMetadata]fingerprint

// listLive reads the metadata of the environment's objects in the inventory.
func listLive(ctx context.Context, c client.Reader, app *landfallv1.Application, env string, inv inventory.Inventory) (liveSnapshot, error) {
	type group struct {
		gvk schema.GroupVersionKind
		ns  string
	}
	groups := map[group]bool{}
	for _, e := range inv.Entries() {
		groups[group{e.GroupVersionKind(), e.Namespace}] = true
	}
	snap := liveSnapshot{}
	for g := range groups {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(g.gvk.GroupVersion().WithKind(g.gvk.Kind + "List"))
		err := c.List(ctx, list, client.InNamespace(g.ns), client.MatchingLabels{
			landfallv1.LabelApplication: applicationLabel(app.Namespace, app.Name), landfallv1.LabelEnvironment: env})
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", g.gvk.Kind, err)
		}
		for i := range list.Items {
			m := &list.Items[i]
			id := inventory.ObjMetadata{Group: g.gvk.Group, Kind: g.gvk.Kind, Namespace: m.Namespace, Name: m.Name}
			snap[id] = fingerprintOf(m)
		}
	}
	return snap, nil
}

// differs reports whether now differs from the snapshot for an object of the inventory.
func (s liveSnapshot) differs(now liveSnapshot, inv inventory.Inventory) bool {
	for _, id := range inv.IDs() {
		old, had := s[id]
		cur, has := now[id]
		if !had || !has || cur.changedSince(old) {
			return true
		}
	}
	return false
}

// liveChanged runs the periodic comparison when it is due. It reports true when the
// environment must be compared in full; errors count as a change, so they are retried.
func (s *envSync) liveChanged(ctx context.Context) bool {
	if !s.r.Drift.compareDue(s.key, s.r.resync(), s.r.clock()) {
		return false
	}
	inv, err := decodeInventory(s.st)
	if err != nil || inv.Len() == 0 {
		return err != nil
	}
	now, err := listLive(ctx, s.dest.client, s.app, s.env.Name, inv)
	if err != nil {
		return true // compared in full instead; rememberLive notes when
	}
	old, ok := s.r.Drift.snapshot(s.key)
	if !ok || old.differs(now, inv) {
		periodicDrift.WithLabelValues(s.app.Namespace, s.app.Name, s.env.Name).Inc()
		return true
	}
	s.r.Drift.remember(s.key, now, s.r.clock())
	return false
}

// rememberLive records the live objects right after a full comparison, as the baseline of
// the next periodic one.
func (s *envSync) rememberLive(ctx context.Context) {
	inv, err := decodeInventory(s.st)
	if err != nil {
		return
	}
	now, err := listLive(ctx, s.dest.client, s.app, s.env.Name, inv)
	if err != nil {
		now = nil // cannot list: the next periodic comparison is a full one, a resync from now
	}
	s.r.Drift.remember(s.key, now, s.r.clock())
}

// snapshotOf is the live objects as a successful apply left them, from its own answers: the
// next comparison's baseline, with no request. ok is false when an object of the inventory
// has no metadata in changes (recreated, or kept from an older inventory).
func snapshotOf(changes *apply.ChangeSet, inv inventory.Inventory) (liveSnapshot, bool) {
	snap := liveSnapshot{}
	for _, c := range changes.Changes {
		if c.Live == nil {
			continue
		}
		id := inventory.ObjMetadata{Group: c.Ref.Group, Kind: c.Ref.Kind, Namespace: c.Ref.Namespace, Name: c.Ref.Name}
		snap[id] = fingerprintOf(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
			ResourceVersion: c.Live.GetResourceVersion(), Generation: c.Live.GetGeneration(),
			Labels: c.Live.GetLabels(), Annotations: c.Live.GetAnnotations()}})
	}
	for _, id := range inv.IDs() {
		if _, ok := snap[id]; !ok {
			return nil, false
		}
	}
	return snap, true
}

// rememberApplied records the live objects after a successful apply: from the apply's
// answers when they cover the inventory, else listed.
func (s *envSync) rememberApplied(ctx context.Context, changes *apply.ChangeSet) {
	inv, err := decodeInventory(s.st)
	if err != nil {
		return
	}
	s.judgeApplied(changes, inv)
	if snap, ok := snapshotOf(changes, inv); ok {
		s.r.Drift.remember(s.key, snap, s.r.clock())
		return
	}
	s.rememberLive(ctx)
}

// judgeApplied records the health of the objects the apply answered with, so the next
// look at health reads none that has not changed since (a new Service, an unchanged
// Deployment). A Progressing Deployment is left out: its pods decide.
func (s *envSync) judgeApplied(changes *apply.ChangeSet, inv inventory.Inventory) {
	ids := inv.IDs()
	for _, c := range changes.Changes {
		if c.Live == nil || health.Statusless(c.Live.GroupVersionKind().GroupKind()) {
			continue
		}
		res := health.Of(c.Live)
		if res.Status == health.Progressing && c.Ref.Group == "apps" && c.Ref.Kind == "Deployment" {
			continue
		}
		id := inventory.ObjMetadata{Group: c.Ref.Group, Kind: c.Ref.Kind, Namespace: c.Ref.Namespace, Name: c.Ref.Name}
		s.r.Drift.judge(s.key, ids, id, judged{dest: s.dest.key, resourceVersion: c.Live.GetResourceVersion(), result: res})
	}
}

// unchangedInInformers reports whether every object of the inventory is, in the drift
// informers, as the last comparison or apply left it: the wake-up that marked the
// environment dirty was Landfall's own write, or a change of status only. Anything the
// informers cannot tell counts as a change.
func (s *envSync) unchangedInInformers() bool {
	old, ok := s.r.Drift.snapshot(s.key)
	if !ok || s.r.Watcher == nil {
		return false
	}
	inv, err := decodeInventory(s.st)
	if err != nil || inv.Len() == 0 {
		return false
	}
	for _, e := range inv.Entries() {
		m, exists, ok := s.r.Watcher.cached(s.dest, e.GroupVersionKind(), e.Namespace, e.Name)
		was, had := old[e.ObjMetadata]
		if !ok || !exists || !had || fingerprintOf(m).changedSince(was) {
			return false
		}
	}
	return true
}
