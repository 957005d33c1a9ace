package operate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// RequestNow stamps annotation with the current time: the controller acts on a new value.
func RequestNow(ctx context.Context, c client.Client, obj client.Object, annotation string) (string, error) {
	stamp := time.Now().UTC().Format(time.RFC3339Nano)
	return stamp, Annotate(ctx, c, obj, annotation, stamp)
}

// Annotate sets one annotation of obj with a merge patch, leaving the others as they are.
func Annotate(ctx context.Context, c client.Client, obj client.Object, key, value string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{key: value}}})
	if err != nil {
		return err
	}
	return c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch))
}

// Pin pins env to revision: what `landfall rollback` and the dashboard's rollback write.
func Pin(ctx context.Context, c client.Client, app *landfallv1.Application, env, revision string) error {
	return Annotate(ctx, c, app, landfallv1.AnnotationPinPrefix+env, revision)
}

// Approve approves revision (its step, when one waits) for env, recording who and when.
// It returns what was approved, in words.
func Approve(ctx context.Context, c client.Client, app *landfallv1.Application, env, revision string, step *int32, by string) (string, error) {
	approval := map[string]any{"revision": revision, "by": by, "at": time.Now().UTC().Format(time.RFC3339)}
	what := revision
	if step != nil {
		approval["step"] = *step
		what = fmt.Sprintf("step %d of %s", *step, revision)
	}
	note, err := json.Marshal(approval)
	if err != nil {
		return "", err
	}
	return what, Annotate(ctx, c, app, landfallv1.AnnotationApprovePrefix+env, string(note))
}

// Suspend sets spec.suspend; resuming also lifts the pins of manual rollbacks.
func Suspend(ctx context.Context, c client.Client, app *landfallv1.Application, suspend bool) error {
	return c.Patch(ctx, app, client.RawPatch(types.MergePatchType, SuspendPatch(app, suspend)))
}

// SuspendPatch is the merge patch of Suspend.
func SuspendPatch(app *landfallv1.Application, suspend bool) []byte {
	patch := map[string]any{"spec": map[string]any{"suspend": suspend}}
	if !suspend {
		pins := map[string]any{}
		for k := range app.Annotations {
			if strings.HasPrefix(k, landfallv1.AnnotationPinPrefix) {
				pins[k] = nil
			}
		}
		if len(pins) > 0 {
			patch["metadata"] = map[string]any{"annotations": pins}
		}
	}
	b, _ := json.Marshal(patch)
	return b
}
