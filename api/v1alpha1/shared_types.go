package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// Name of the object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// Health is the health of an object or a set of objects.
// +kubebuilder:validation:Enum=Healthy;Progressing;Degraded;Suspended;Unknown
type Health string

// Health values, from best to worst as Landfall aggregates them: Healthy, Suspended,
// Unknown, Progressing, Degraded. A deliberately suspended object must not hide one that
// is still rolling out.
const (
	HealthHealthy     Health = "Healthy"
	HealthSuspended   Health = "Suspended"
	HealthUnknown     Health = "Unknown"
	HealthProgressing Health = "Progressing"
	HealthDegraded    Health = "Degraded"
)

// SyncState says whether live objects match the desired state of an environment.
// +kubebuilder:validation:Enum=Synced;OutOfSync;Unknown
type SyncState string

// SyncState values.
const (
	SyncSynced    SyncState = "Synced"
	SyncOutOfSync SyncState = "OutOfSync"
	SyncUnknown   SyncState = "Unknown"
)

// ConditionsAccessor is implemented by every Landfall kind, so condition helpers are shared.
// +kubebuilder:object:generate=false
type ConditionsAccessor interface {
	GetConditions() []metav1.Condition
	SetConditions([]metav1.Condition)
}
