package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ErrImmutable is returned (wrapped) when an object changes a field the apiserver does not
// let change, and recreating it was not asked for or is not safe.
var ErrImmutable = errors.New("immutable field changed")

// unsafeToRecreate are the kinds whose delete takes data or other objects with it: a
// Namespace everything in it, a CustomResourceDefinition every custom resource, a
// PersistentVolumeClaim its volume. Force never recreates them.
var unsafeToRecreate = map[string]bool{
	"/Namespace": true, "apiextensions.k8s.io/CustomResourceDefinition": true, "/PersistentVolumeClaim": true,
}

// immutableFields returns the fields the apiserver refused to change, or nil when err is
// not about an immutable field.
func immutableFields(err error) []string {
	if !apierrors.IsInvalid(err) {
		return nil
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Details == nil {
		return nil
	}
	var fields []string
	for _, c := range status.Status().Details.Causes {
		if strings.Contains(c.Message, "immutable") {
			fields = append(fields, c.Field)
		}
	}
	return fields
}

// forced reports whether the object, or the whole apply (Options.Force), asks for objects
// with an immutable change to be recreated.
func (m *Manager) forced(obj *unstructured.Unstructured) bool {
	return m.opts.Force || (m.opts.ForceAnnotation != "" && obj.GetAnnotations()[m.opts.ForceAnnotation] == "true")
}

// immutableChange turns the apiserver's refusal into an error that names the fields and
// says how to opt in, or, when the object opted in and its kind is safe to recreate,
// deletes and creates it again.
func (m *Manager) immutableChange(ctx context.Context, it item, live *unstructured.Unstructured, fields []string) error {
	what := strings.Join(fields, ", ")
	kind := it.ref.Group + "/" + it.ref.Kind
	switch {
	case !m.forced(it.obj) && m.opts.ForceAnnotation != "":
		return fmt.Errorf("%w: %s cannot change in place; annotate the object (or the Application) with %s: \"true\" to let it be deleted and created again",
			ErrImmutable, what, m.opts.ForceAnnotation)
	case !m.forced(it.obj):
		return fmt.Errorf("%w: %s cannot change in place", ErrImmutable, what)
	case unsafeToRecreate[kind]:
		return fmt.Errorf("%w: %s cannot change in place, and a %s is never recreated: deleting it deletes what it holds",
			ErrImmutable, what, it.ref.Kind)
	}
	return m.recreate(ctx, it, live)
}

// recreate deletes the live object (only that one: the UID is a precondition), waits
// until it is gone, and creates the desired one.
func (m *Manager) recreate(ctx context.Context, it item, live *unstructured.Unstructured) error {
	uid := live.GetUID()
	err := m.client.Delete(ctx, live, client.Preconditions{UID: &uid}, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting it to recreate it: %w", err)
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, m.opts.WaitTimeout, true, func(ctx context.Context) (bool, error) {
		cur, err := m.getLive(ctx, it.ref)
		return err == nil && (cur == nil || cur.GetUID() != uid), err
	})
	if err != nil {
		return fmt.Errorf("waiting for it to be deleted before recreating it: %w", err)
	}
	desired, err := m.desiredFor(it.obj, nil, it.ref)
	if err != nil {
		return err
	}
	return m.serverApply(ctx, desired, false)
}
