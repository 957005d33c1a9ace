package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// objectWithConditions is any Landfall object: it has a generation and conditions.
type objectWithConditions interface {
	landfallv1.ConditionsAccessor
	GetGeneration() int64
}

func setCondition(obj objectWithConditions, typ string, status metav1.ConditionStatus, reason, msg string) {
	conds := obj.GetConditions()
	apimeta.SetStatusCondition(&conds, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: truncate(msg, 1024), ObservedGeneration: obj.GetGeneration(),
	})
	obj.SetConditions(conds)
}

// generationObserver is an object whose status records the generation it acted on.
type generationObserver interface{ SetObservedGeneration(int64) }

// observe records that the object's spec was acted on: kstatus reads an outcome (Current,
// Failed) only when observedGeneration matches the generation.
func observe(obj objectWithConditions) {
	if o, ok := obj.(generationObserver); ok {
		o.SetObservedGeneration(obj.GetGeneration())
	}
}

// markReady records success: Ready=True, nothing under way, nothing stalled.
func markReady(obj objectWithConditions, reason, msg string) {
	observe(obj)
	setCondition(obj, landfallv1.ConditionReady, metav1.ConditionTrue, reason, msg)
	removeCondition(obj, landfallv1.ConditionReconciling)
	removeCondition(obj, landfallv1.ConditionStalled)
}

// markNotReady records a failure that may pass by itself (retry) or, when stalled, one the
// user must fix; either way Ready=False with the reason.
func markNotReady(obj objectWithConditions, reason, msg string, stalled bool) {
	setCondition(obj, landfallv1.ConditionReady, metav1.ConditionFalse, reason, msg)
	removeCondition(obj, landfallv1.ConditionReconciling)
	if stalled {
		// Stalled is a terminal outcome of this generation: the user must change something.
		observe(obj)
		setCondition(obj, landfallv1.ConditionStalled, metav1.ConditionTrue, reason, msg)
	} else {
		removeCondition(obj, landfallv1.ConditionStalled)
	}
}

func removeCondition(obj objectWithConditions, typ string) {
	conds := obj.GetConditions()
	apimeta.RemoveStatusCondition(&conds, typ)
	obj.SetConditions(conds)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// patchStatusIfChanged writes obj's status when it differs from before's, after exporting
// its conditions as metrics. An unchanged status costs no write, which keeps a quiet
// cluster free of apiserver writes.
func patchStatusIfChanged[T interface {
	client.Object
	objectWithConditions
}](ctx context.Context, c client.Client, rec recorder.EventRecorder, kind string, before, obj T, statusOf func(T) any) error {
	recordConditions(kind, obj)
	if equality.Semantic.DeepEqual(statusOf(before), statusOf(obj)) {
		return nil
	}
	err := c.Status().Patch(ctx, obj, client.MergeFrom(before))
	if err == nil || apierrors.IsNotFound(err) {
		return nil
	}
	if !apierrors.IsConflict(err) && ctx.Err() == nil {
		reportStatusWriteFailed(ctx, c, rec, before, err)
	}
	return fmt.Errorf("patching status: %w", err)
}

// reportStatusWriteFailed makes a status write that failed (too large, refused) a
// condition the user sees, not only a log line: on top of the stored status it patches
// only the conditions, Ready=False and Stalled=True, with a Warning Event. What was done
// and not recorded (an inventory, a prune) stays unrecorded, but never silently. The
// message is the apiserver's error, which names no Secret data.
func reportStatusWriteFailed[T interface {
	client.Object
	objectWithConditions
}](ctx context.Context, c client.Client, rec recorder.EventRecorder, before T, cause error) {
	failed, ok := before.DeepCopyObject().(T)
	if !ok {
		return
	}
	msg := "status could not be written: " + cause.Error()
	markNotReady(failed, landfallv1.ReasonStatusWriteFailed, msg, true)
	if err := c.Status().Patch(ctx, failed, client.MergeFrom(before)); err != nil {
		log.FromContext(ctx).Error(err, "Reporting a failed status write failed too")
	}
	if rec != nil {
		rec.Eventf(before, nil, corev1.EventTypeWarning, landfallv1.ReasonStatusWriteFailed, "WriteStatus", "%s", truncate(msg, 1024))
	}
}
