package controllers

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// PatchApplicationStatusForTest writes app's status as the Application controller does
// at the end of a reconcile.
func PatchApplicationStatusForTest(ctx context.Context, c client.Client, rec recorder.EventRecorder,
	before, app *landfallv1.Application) error {
	return patchStatusIfChanged(ctx, c, rec, "Application", before, app,
		func(a *landfallv1.Application) any { return a.Status })
}
