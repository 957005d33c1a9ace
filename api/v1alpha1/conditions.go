package v1alpha1

// Condition types. They follow kstatus: Ready is the summary, Reconciling says work is under
// way, Stalled says the user must act. They are API: do not rename them.
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
	// ConditionRevisionStored is False while an environment's last healthy revision could
	// not be kept for rollbacks (reason StoreFailed); a rollback then needs the checkout
	// cache or Git. It is removed once the revision is stored.
	ConditionRevisionStored = "RevisionStored"
)

// Condition reasons. They are API: tools and alerts match on them.
const (
	// ReasonSucceeded: the last reconcile did everything it set out to do.
	ReasonSucceeded = "Succeeded"
	// ReasonProgressing: work is under way (fetching, rendering, applying, waiting for health).
	ReasonProgressing = "Progressing"
	// ReasonInvalidSpec: the spec cannot be acted on (bad cron schedule, bad URL, …).
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonAuthenticationFailed: the Git server refused the credentials.
	ReasonAuthenticationFailed = "AuthenticationFailed"
	// ReasonFetchFailed: the Git server could not be reached or the fetch failed.
	ReasonFetchFailed = "FetchFailed"
	// ReasonSecretNotFound: a referenced Secret is missing or lacks a key.
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonRepositoryNotReady: the Application's Repository has no revision yet.
	ReasonRepositoryNotReady = "RepositoryNotReady"
	// ReasonRenderFailed: Kustomize, Helm or the YAML could not be rendered.
	ReasonRenderFailed = "RenderFailed"
	// ReasonApplyFailed: the apiserver refused an object.
	ReasonApplyFailed = "ApplyFailed"
	// ReasonPruneHeld: a prune would delete too much and is held until allowed.
	ReasonPruneHeld = "PruneHeld"
	// ReasonOutsideSyncWindow: a sync window forbids applying now.
	ReasonOutsideSyncWindow = "OutsideSyncWindow"
	// ReasonHealthCheckFailed: the applied objects did not become healthy.
	ReasonHealthCheckFailed = "HealthCheckFailed"
	// ReasonAnalysisFailed: a metric analysis failed a rollout step.
	ReasonAnalysisFailed = "AnalysisFailed"
	// ReasonRolledBack: an environment went back to its last healthy revision.
	ReasonRolledBack = "RolledBack"
	// ReasonSuspended: reconciliation is suspended by the spec.
	ReasonSuspended = "Suspended"
	// ReasonPinned: an environment is pinned to a revision by a manual rollback.
	ReasonPinned = "Pinned"
	// ReasonForbidden: rendered objects reach outside what the Application may touch.
	ReasonForbidden = "Forbidden"
	// ReasonAwaitingApproval: an environment holds a new revision until a person approves it.
	ReasonAwaitingApproval = "AwaitingApproval"
	// ReasonStoreFailed: the last healthy revision could not be stored for rollbacks.
	ReasonStoreFailed = "StoreFailed"
	// ReasonClusterUnreachable: the destination cluster cannot be reached.
	ReasonClusterUnreachable = "ClusterUnreachable"
	// ReasonLimitExceeded: a fetch or a render exceeded a documented bound (size, count,
	// memory, time); the message names the limit.
	ReasonLimitExceeded = "LimitExceeded"
	// ReasonChartRefused: a chart repository or registry served what Landfall refuses: an
	// archive whose digest is not the one its index or manifest names, an index or redirect
	// pointing to another host, or an archive entry that leaves the chart. The current
	// revision stays.
	ReasonChartRefused = "ChartRefused"
	// ReasonServiceAccountNotFound: the ServiceAccount an Application deploys as is missing.
	ReasonServiceAccountNotFound = "ServiceAccountNotFound"
	// ReasonPolicyViolation: the tenant policy forbids what the Application would deploy,
	// or the Repository URL it reads.
	ReasonPolicyViolation = "PolicyViolation"
	// ReasonNothingSelected: a TenantPolicy selects no namespace that exists.
	ReasonNothingSelected = "NothingSelected"
	// ReasonStatusWriteFailed: the apiserver refused the object's status (too large, say);
	// the message names its error. What the last reconcile did is not recorded.
	ReasonStatusWriteFailed = "StatusWriteFailed"
	// ReasonDeliveryFailed: a Notification's target failed five deliveries in a row (Dead);
	// its events wait in its queue, the oldest dropped past the bound.
	ReasonDeliveryFailed = "DeliveryFailed"
)

// Annotations and labels Landfall reads or writes. They are API.
const (
	// AnnotationSyncRequestedAt, set to any new value (a timestamp), asks for an immediate sync.
	AnnotationSyncRequestedAt = "landfall.dev/sync-requested-at"
	// AnnotationReconcileRequestedAt, set to a new value, asks a Repository for an immediate fetch.
	AnnotationReconcileRequestedAt = "landfall.dev/reconcile-requested-at"
	// AnnotationPinPrefix + <environment>, set to a revision by `landfall rollback`, pins the
	// environment to that revision until `landfall resume` removes it.
	AnnotationPinPrefix = "pin.landfall.dev/"
	// AnnotationForce set to "true" on a deployed object, or on the Application for all of
	// its objects, lets Landfall delete and create again an object whose change touches an
	// immutable field (a Job's template, a Deployment's selector). Namespaces,
	// CustomResourceDefinitions and PersistentVolumeClaims are never recreated.
	AnnotationForce = "landfall.dev/force"
	// AnnotationApprovePrefix + <environment> approves a revision for an environment that
	// requires approval. The value is the revision, or JSON {"revision", "by", "at"} as
	// `landfall promote` writes it.
	AnnotationApprovePrefix = "approve.landfall.dev/"
	// AnnotationSyncWave orders objects within a stage of an apply: lower waves first.
	AnnotationSyncWave = "landfall.dev/sync-wave"
	// AnnotationOwner names the Application and environment that created an object
	// ("<namespace>/<application>/<environment>"). Prune deletes only objects carrying it.
	AnnotationOwner = "landfall.dev/owner"
	// LabelManaged marks every object Landfall applies, so drift watches can select them.
	LabelManaged = "landfall.dev/managed"
	// LabelApplication names the Application (as "<namespace>.<name>") on applied objects.
	LabelApplication = "landfall.dev/application"
	// LabelEnvironment names the environment on applied objects.
	LabelEnvironment = "landfall.dev/environment"
)

// ReasonRevisionRegressed: the ref moved to a commit that does not descend from the current
// revision (a force-push rewind, a moved tag); the Repository keeps the current one until
// its rewindPolicy allows it. Also the reason of the Warning Event every rewind gets.
const ReasonRevisionRegressed = "RevisionRegressed"

// ReasonSignatureVerificationFailed: the Repository's new commit, or the annotated tag it
// follows, is unsigned or not signed by a key of spec.verify; the current revision stays.
const ReasonSignatureVerificationFailed = "SignatureVerificationFailed"

// Event reasons that are not condition reasons. They are API: alerts match on them.
const (
	// EventCheckoutVerificationFailed: a cached checkout was not its commit's tree (changed on
	// disk); it was discarded, never rendered, and the commit is fetched again.
	EventCheckoutVerificationFailed = "CheckoutVerificationFailed"
)

// FieldManager is the server-side apply field manager of every write Landfall makes.
const FieldManager = "landfall"
