// Package apply writes desired objects to a cluster and removes stale ones, safely.
//
// Apply uses server-side apply under one field manager and forces conflicts: Landfall is
// the source of truth for the fields it sets. Fields another controller must own (such as
// spec.replicas under a HorizontalPodAutoscaler) are dropped from the desired object first.
// Each object is dry-run applied and compared with the live one, so objects that would not
// change are never written.
//
// Objects go in stages: Namespaces and CustomResourceDefinitions first (and the CRDs must be
// Established and served before anything else is applied), then other cluster-scoped
// objects, then namespaced ones. Within a stage, objects are ordered by sync wave, kind
// and namespace/name. A failure is recorded and the rest of the same wave still applies,
// but nothing of a later wave or stage is written, and an error is returned: callers must
// not prune after an error.
//
// Prune and DeleteAll delete only objects that exist and carry the owner annotation with
// the expected value; anything else is skipped and reported. Every outcome is recorded in a
// typed ChangeSet. The package never reads CRD types of Landfall's API: it takes plain
// objects and options.
package apply
