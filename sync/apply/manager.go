package apply

import (
	"errors"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DefaultWaitTimeout bounds the wait for CustomResourceDefinitions when Options leave it zero.
const DefaultWaitTimeout = time.Minute

// Options are the plain values the caller derives from its configuration.
type Options struct {
	// FieldManager owns every field Landfall applies ("landfall"). Required.
	FieldManager string
	// OwnerAnnotation and Owner identify the objects this caller owns, such as
	// landfall.dev/owner: shop-system/shop/staging. Prune and DeleteAll require both and
	// delete only objects carrying exactly this value. Apply refuses to take over an object
	// whose owner annotation names another owner, when Owner is set.
	OwnerAnnotation string
	Owner           string
	// PreviousOwners may be taken over by Apply: owners the caller replaces, such as an
	// environment that was renamed. Prune still deletes only objects of Owner.
	PreviousOwners []string
	// WaveAnnotation is the annotation whose integer value orders objects within a stage
	// (landfall.dev/sync-wave); lower waves first, 0 when absent. Empty: no waves.
	WaveAnnotation string
	// DropFields returns JSON-pointer paths of map keys ("/spec/replicas") that another
	// controller owns for this object; they are left to that controller (see dropFields).
	// Nil drops nothing.
	DropFields func(ObjectRef) []string
	// ForceAnnotation (landfall.dev/force) set to "true" on an object lets Apply delete and
	// create it again when it changes an immutable field; Force does so for every object.
	// Namespaces, CustomResourceDefinitions and PersistentVolumeClaims are never recreated.
	ForceAnnotation string
	Force           bool
	// WaitTimeout bounds the wait for applied CustomResourceDefinitions to be established
	// and served; DefaultWaitTimeout when zero.
	WaitTimeout time.Duration
}

// Manager applies, compares and prunes objects through one client.
type Manager struct {
	client client.Client
	mapper meta.RESTMapper
	opts   Options
}

// New returns a Manager that talks through c and resolves kinds with c's REST mapper,
// which must discover new kinds lazily (controller-runtime's default dynamic mapper does)
// so custom resources of CRDs applied in the same run can be found.
func New(c client.Client, opts Options) (*Manager, error) {
	if c == nil {
		return nil, errors.New("apply: a client is required")
	}
	if opts.FieldManager == "" {
		return nil, errors.New("apply: a field manager is required")
	}
	if (opts.OwnerAnnotation == "") != (opts.Owner == "") {
		return nil, errors.New("apply: OwnerAnnotation and Owner go together")
	}
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = DefaultWaitTimeout
	}
	return &Manager{client: c, mapper: c.RESTMapper(), opts: opts}, nil
}
