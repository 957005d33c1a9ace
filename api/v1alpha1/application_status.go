package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MaxHistory bounds Application.status.history.
const MaxHistory = 20

// ApplicationStatus is the observed state of an Application.
type ApplicationStatus struct {
	// ObservedGeneration is the generation whose spec was last acted on: synced, waiting,
	// or stalled until the user acts (kstatus reads Ready and Stalled only when it matches).
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Revision is the Repository revision being deployed.
	// +optional
	Revision string `json:"revision,omitempty"`
	// Health of all environments together: the worst of them.
	// +optional
	Health Health `json:"health,omitempty"`
	// Sync of all environments together: OutOfSync when any is.
	// +optional
	Sync SyncState `json:"sync,omitempty"`
	// Environments, in spec order.
	// +listType=map
	// +listMapKey=name
	// +optional
	Environments []EnvironmentStatus `json:"environments,omitempty"`
	// RemovedEnvironments were removed from the spec; their objects are pruned (through the
	// mass-prune guard) once every environment in the spec has been applied, or left as
	// they are when spec.prune is off. An environment of the spec may take over their
	// objects (a rename). Deleting the Application deletes their objects too.
	// +listType=map
	// +listMapKey=name
	// +optional
	RemovedEnvironments []EnvironmentStatus `json:"removedEnvironments,omitempty"`
	// History of rollouts, newest first, at most MaxHistory entries.
	// +kubebuilder:validation:MaxItems=20
	// +optional
	History []HistoryEntry `json:"history,omitempty"`
	// LastHandledSyncAt is the last value of the sync-requested-at annotation handled.
	// +optional
	LastHandledSyncAt string `json:"lastHandledSyncAt,omitempty"`
	// Conditions: Ready, Reconciling, Stalled.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// EnvironmentStatus is the observed state of one environment.
type EnvironmentStatus struct {
	// Name of the environment.
	Name string `json:"name"`
	// Cluster the environment's objects were applied to; the local cluster when unset.
	// Kept so that the objects of a removed environment can be found.
	// +optional
	Cluster *ClusterRef `json:"cluster,omitempty"`
	// Revision applied now.
	// +optional
	Revision string `json:"revision,omitempty"`
	// Commit is the subject and author of Revision's commit, when known (not for charts).
	// +optional
	Commit *CommitInfo `json:"commit,omitempty"`
	// DesiredRevision is the revision the environment is moving to.
	// +optional
	DesiredRevision string `json:"desiredRevision,omitempty"`
	// LastHealthyRevision is the newest revision that was healthy here; rollbacks go to it.
	// +optional
	LastHealthyRevision string `json:"lastHealthyRevision,omitempty"`
	// FailedRevisions failed here and are not retried until a newer revision arrives;
	// oldest first, at most 10.
	// +kubebuilder:validation:MaxItems=10
	// +optional
	FailedRevisions []string `json:"failedRevisions,omitempty"`
	// PinnedRevision is set by a manual rollback; the environment stays there until resumed.
	// +optional
	PinnedRevision string `json:"pinnedRevision,omitempty"`
	// AwaitingApproval is the revision waiting for a person's approval: to enter the
	// environment (requireApproval), or to pass a canary step (AwaitingApprovalStep).
	// +optional
	AwaitingApproval string `json:"awaitingApproval,omitempty"`
	// AwaitingApprovalStep is the canary step (0-based) of AwaitingApproval that waits,
	// when a step requires approval; absent when the revision waits to enter.
	// +optional
	AwaitingApprovalStep *int32 `json:"awaitingApprovalStep,omitempty"`
	// Approval records who approved the environment's newest approved revision, and when.
	// +optional
	Approval *Approval `json:"approval,omitempty"`
	// Sync state of the live objects.
	// +optional
	Sync SyncState `json:"sync,omitempty"`
	// Health of the applied objects.
	// +optional
	Health Health `json:"health,omitempty"`
	// Message explains the sync and health state in words.
	// +optional
	Message string `json:"message,omitempty"`
	// OutOfSync names up to 20 objects whose live state differs from Git.
	// +kubebuilder:validation:MaxItems=20
	// +optional
	OutOfSync []string `json:"outOfSync,omitempty"`
	// LastSyncTime is when objects were last applied.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
	// LastSyncResult summarises the last apply: counts by action, or the error.
	// +optional
	LastSyncResult string `json:"lastSyncResult,omitempty"`
	// RenderDigest identifies the rendered objects last applied; an unchanged digest and
	// unchanged live objects mean nothing to do.
	// +optional
	RenderDigest string `json:"renderDigest,omitempty"`
	// Rollout progress of the revision moving in.
	// +optional
	Rollout *RolloutStatus `json:"rollout,omitempty"`
	// Inventory of the objects Landfall applied here.
	// +optional
	Inventory *Inventory `json:"inventory,omitempty"`
}

// Approval is a person's approval of a revision for an environment.
type Approval struct {
	// Revision approved.
	Revision string `json:"revision"`
	// ApprovedBy is the user who approved, as the apiserver named them to `landfall
	// promote`; empty when the annotation was set by other means.
	// +optional
	ApprovedBy string `json:"approvedBy,omitempty"`
	// ApprovedAt is when it was approved.
	// +optional
	ApprovedAt *metav1.Time `json:"approvedAt,omitempty"`
	// Step is the canary step (0-based) approved; absent for an approval of the revision
	// into the environment (requireApproval).
	// +optional
	Step *int32 `json:"step,omitempty"`
}

// RolloutPhase is where a rollout stands.
// +kubebuilder:validation:Enum=Progressing;Paused;Analyzing;Baking;Completed;RolledBack;Failed
type RolloutPhase string

// Rollout phases.
const (
	RolloutProgressing RolloutPhase = "Progressing"
	RolloutPaused      RolloutPhase = "Paused"
	RolloutAnalyzing   RolloutPhase = "Analyzing"
	RolloutBaking      RolloutPhase = "Baking"
	RolloutCompleted   RolloutPhase = "Completed"
	RolloutRolledBack  RolloutPhase = "RolledBack"
	RolloutFailed      RolloutPhase = "Failed"
)

// RolloutStatus records a rollout so a restarted controller resumes where it stopped.
type RolloutStatus struct {
	// Revision being rolled out.
	// +optional
	Revision string `json:"revision,omitempty"`
	// Step index (0-based) of a Canary rollout.
	// +optional
	Step int32 `json:"step"`
	// Weight of the current step, in percent.
	// +optional
	Weight int32 `json:"weight,omitempty"`
	// Phase of the rollout.
	// +optional
	Phase RolloutPhase `json:"phase,omitempty"`
	// StartedAt is when the rollout of this revision began.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// Stable is the last healthy revision when this rollout began: the rollback target.
	// +optional
	Stable string `json:"stable,omitempty"`
	// StepStartedAt is when the current wait for health began.
	// +optional
	StepStartedAt *metav1.Time `json:"stepStartedAt,omitempty"`
	// HealthySince is when health became Healthy in the current step or bake.
	// +optional
	HealthySince *metav1.Time `json:"healthySince,omitempty"`
	// Message explains the phase.
	// +optional
	Message string `json:"message,omitempty"`
	// Analysis counts per metric for the current step.
	// +optional
	Analysis []AnalysisStatus `json:"analysis,omitempty"`
}

// AnalysisStatus counts the measurements of one metric in the current step.
type AnalysisStatus struct {
	// Name of the metric.
	Name string `json:"name"`
	// Successes, Failures and Inconclusive count measurements; ConsecutiveInconclusive resets
	// on a conclusive one.
	// +optional
	Successes int32 `json:"successes,omitempty"`
	// +optional
	Failures int32 `json:"failures,omitempty"`
	// +optional
	Inconclusive int32 `json:"inconclusive,omitempty"`
	// +optional
	ConsecutiveInconclusive int32 `json:"consecutiveInconclusive,omitempty"`
	// +optional
	ConsecutiveFailures int32 `json:"consecutiveFailures,omitempty"`
	// LastValue measured, as text.
	// +optional
	LastValue string `json:"lastValue,omitempty"`
	// LastMeasuredAt is when the metric was last queried.
	// +optional
	LastMeasuredAt *metav1.Time `json:"lastMeasuredAt,omitempty"`
}

// Inventory lists the objects applied to an environment, compactly: one entry per object.
type Inventory struct {
	// Entries, each "<group>_<kind>_<namespace>_<name>[,<name>…]_<version>": the names of
	// one group, kind, namespace and version share an entry (commas and percent signs in
	// names are percent-escaped). Sorted.
	// +optional
	Entries []string `json:"entries,omitempty"`
	// Compressed holds the entries instead, joined by "\n" and gzipped, when they are too
	// large to store readably (above 64 KiB): status must stay under the apiserver's
	// request limit at 10,000 objects.
	// +optional
	Compressed []byte `json:"compressed,omitempty"`
	// Count is the number of objects in the inventory.
	// +optional
	Count int32 `json:"count,omitempty"`
}

// HistoryResult is the outcome of a rollout.
// +kubebuilder:validation:Enum=Progressing;Succeeded;Failed;RolledBack;Superseded
type HistoryResult string

// History results.
const (
	ResultProgressing HistoryResult = "Progressing"
	ResultSucceeded   HistoryResult = "Succeeded"
	ResultFailed      HistoryResult = "Failed"
	ResultRolledBack  HistoryResult = "RolledBack"
	ResultSuperseded  HistoryResult = "Superseded"
)

// HistoryEntry records the rollout of one revision to one environment.
type HistoryEntry struct {
	// Revision rolled out.
	Revision string `json:"revision"`
	// Commit is the subject and author of Revision's commit, when known (not for charts).
	// +optional
	Commit *CommitInfo `json:"commit,omitempty"`
	// Environment it went to.
	Environment string `json:"environment"`
	// StartedAt and FinishedAt bound the rollout.
	StartedAt metav1.Time `json:"startedAt"`
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// Result of the rollout.
	Result HistoryResult `json:"result"`
	// Message says why, for failures and rollbacks.
	// +optional
	Message string `json:"message,omitempty"`
	// RewoundFrom is set when the revision does not descend from the one the Repository
	// had before (a force-push or a moved tag its rewindPolicy allowed): it names that one.
	// +optional
	RewoundFrom string `json:"rewoundFrom,omitempty"`
}
