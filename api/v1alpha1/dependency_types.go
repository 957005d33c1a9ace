package v1alpha1

// Dependency names an Application whose environment must be Healthy at its current
// revision before an environment of this one takes a new revision.
type Dependency struct {
	// Name of the Application.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Namespace of the Application; the dependent's own when unset. Another namespace is
	// allowed only where every TenantPolicy selecting the dependent's namespace also
	// selects it (the same team).
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// Environment of the Application that must be Healthy; the dependent environment's
	// own name when unset (orders' staging waits for database's staging).
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Environment string `json:"environment,omitempty"`
}

// HealthCheckExpr judges the health of one kind of object with CEL expressions, in place
// of the built-in rules and kstatus. Each expression sees the object's top-level fields
// as variables (apiVersion, kind, metadata, spec, status; an absent one reads as an empty
// map) and the whole object as self (self.data of a ConfigMap), and must give a bool. They are tried in the order inProgress, failed,
// current; the first that is true decides (Progressing, Degraded, Healthy); none true is
// Progressing. An expression that fails while it runs (a missing field, a wrong type, over
// the cost limit) makes the object's health Unknown, never Healthy.
type HealthCheckExpr struct {
	// Group of the kind ("" for the core API), such as example.com.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Group string `json:"group,omitempty"`

	// Kind, such as Database.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Kind string `json:"kind"`

	// Current is true when the object is healthy.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Current string `json:"current"`

	// InProgress is true while the object is still moving towards its spec.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	InProgress string `json:"inProgress,omitempty"`

	// Failed is true when the object has failed (Degraded: a rollout rolls back).
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Failed string `json:"failed,omitempty"`
}

// Reasons of an environment that waits for, or cannot have, its dependencies. They are API.
const (
	// ReasonDependencyNotReady: an environment waits until the Applications it depends on
	// are Healthy at their current revision; the message names each one and its state
	// (not found, no such environment, Progressing at a revision, rolled back, …). It is
	// woken by the dependency's change, not by polling.
	ReasonDependencyNotReady = "DependencyNotReady"
	// ReasonDependencyCycle: the dependencies lead back to the environment itself; the
	// message names the cycle (Stalled until a spec breaks it).
	ReasonDependencyCycle = "DependencyCycle"
)
