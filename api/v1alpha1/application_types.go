package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ApplicationSpec says what to deploy and where, in which order and how safely.
type ApplicationSpec struct {
	// RepositoryRef names the Repository (same namespace) holding the configuration.
	RepositoryRef LocalObjectReference `json:"repositoryRef"`

	// Path in the repository: a Kustomize directory, a Helm chart or plain YAML,
	// auto-detected. Environments may override it.
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('/') && !self.split('/').exists(p, p == '..')",message="path must be relative and must not contain '..'"
	// +optional
	Path string `json:"path,omitempty"`

	// Environments, rolled out in this order.
	// +kubebuilder:validation:XValidation:rule="!has(self[size(self) - 1].bakeTime)",message="bakeTime is how long an environment must stay healthy before the next one starts: set it on the environment that bakes (staging), not on the last one"
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +listType=map
	// +listMapKey=name
	Environments []Environment `json:"environments"`

	// Prune deletes objects Landfall created that are no longer rendered.
	// +optional
	Prune bool `json:"prune,omitempty"`

	// AllowMassPrune lets a sync prune all, or more than half, of an environment's objects.
	// Without it such a sync is held, so an emptied folder never wipes an environment.
	// +optional
	AllowMassPrune bool `json:"allowMassPrune,omitempty"`

	// SelfHeal re-applies objects changed or deleted by hand.
	// +optional
	SelfHeal bool `json:"selfHeal,omitempty"`

	// Suspend stops syncing; live objects are left as they are.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// SyncWindows allow or deny syncing at times.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	SyncWindows []SyncWindow `json:"syncWindows,omitempty"`

	// Rollout says how a revision rolls out and when it is rolled back.
	// +optional
	Rollout *RolloutSpec `json:"rollout,omitempty"`

	// AllowClusterScoped lets rendered objects include cluster-scoped kinds.
	// +optional
	AllowClusterScoped bool `json:"allowClusterScoped,omitempty"`

	// AllowedNamespaces lists namespaces other than an environment's own that rendered
	// objects may target.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	AllowedNamespaces []string `json:"allowedNamespaces,omitempty"`

	// ServiceAccountName is a ServiceAccount in the Application's namespace: every read and
	// write for its environments (apply, prune, dry-run, health, drift watches, namespace
	// creation) is made as that ServiceAccount, never with the controller's own rights.
	// When unset, the controller's --default-service-account applies, if any.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// Decryption opens the SOPS-encrypted files of every environment; an environment's own
	// decryption replaces it.
	// +optional
	Decryption *Decryption `json:"decryption,omitempty"`

	// DependsOn names Applications whose environments must be Healthy at their current
	// revision before each environment of this one takes a new revision: orders' staging
	// waits for database's staging. What an environment already runs is kept (healed and
	// health-checked) while it waits. An environment's own dependsOn replaces this list.
	// Cycles are refused (Stalled, DependencyCycle).
	// +kubebuilder:validation:MaxItems=32
	// +optional
	DependsOn []Dependency `json:"dependsOn,omitempty"`

	// HealthCheckExprs judge kinds with CEL expressions, in place of the controller's
	// global rules (--health-rules), the built-in rules and kstatus. An expression that
	// does not compile is InvalidSpec (Stalled) and nothing is applied.
	// +kubebuilder:validation:MaxItems=32
	// +optional
	HealthCheckExprs []HealthCheckExpr `json:"healthCheckExprs,omitempty"`
}

// Environment is one destination of an Application.
type Environment struct {
	EnvironmentTemplate `json:",inline"`

	// Name of the environment, unique within the Application.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`

	// Namespace that objects without a namespace go to.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace"`

	// Cluster is the destination cluster; the local cluster when unset.
	// +optional
	Cluster *ClusterRef `json:"cluster,omitempty"`

	// BakeTime is how long this environment must stay healthy at a new revision before the
	// next environment starts it: set it on staging to hold production back. The last
	// environment has no next one, so the apiserver refuses it there.
	// +optional
	BakeTime *metav1.Duration `json:"bakeTime,omitempty"`

	// RequireApproval holds every new revision until a person approves it for this
	// environment (`landfall promote APP --env ENV`, or the annotation
	// approve.landfall.dev/<environment>: <revision>). Pins and rollbacks are not held.
	// +optional
	RequireApproval bool `json:"requireApproval,omitempty"`

	// Rollout overrides the Application's rollout for this environment, whole: staging
	// Rolling with its one replica, production Canary, say.
	// +optional
	Rollout *RolloutSpec `json:"rollout,omitempty"`

	// DependsOn replaces the Application's dependsOn for this environment.
	// +kubebuilder:validation:MaxItems=32
	// +optional
	DependsOn []Dependency `json:"dependsOn,omitempty"`
}

// EnvironmentTemplate is what an environment renders: shared by Application and Preview.
type EnvironmentTemplate struct {
	// Path overrides the Application's path (an overlay, say).
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('/') && !self.split('/').exists(p, p == '..')",message="path must be relative and must not contain '..'"
	// +optional
	Path string `json:"path,omitempty"`

	// ValuesFiles for Helm, relative to the chart.
	// +kubebuilder:validation:MaxItems=32
	// +optional
	ValuesFiles []string `json:"valuesFiles,omitempty"`

	// ValuesFrom for Helm: values from ConfigMaps and Secrets of the Application's
	// namespace, merged over the values files in order, under the inline values.
	// +kubebuilder:validation:MaxItems=32
	// +optional
	ValuesFrom []ValuesReference `json:"valuesFrom,omitempty"`

	// Values for Helm, merged over the values files and valuesFrom.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Values *apiextensionsv1.JSON `json:"values,omitempty"`

	// ReleaseName for Helm; the Application's name when unset.
	// +kubebuilder:validation:MaxLength=53
	// +optional
	ReleaseName string `json:"releaseName,omitempty"`

	// Decryption opens the SOPS-encrypted files of this environment, in place of the
	// Application's.
	// +optional
	Decryption *Decryption `json:"decryption,omitempty"`
}

// ClusterRef points at a remote cluster.
type ClusterRef struct {
	// SecretRef names a Secret whose key "kubeconfig" reaches the cluster. Exec plugins and
	// insecure TLS are refused.
	SecretRef LocalObjectReference `json:"secretRef"`
}

// SyncWindowKind allows or denies syncing in a window.
// +kubebuilder:validation:Enum=allow;deny
type SyncWindowKind string

// Sync window kinds.
const (
	SyncWindowAllow SyncWindowKind = "allow"
	SyncWindowDeny  SyncWindowKind = "deny"
)

// SyncWindow is a recurring period that allows or denies syncing.
// +kubebuilder:validation:XValidation:rule="duration(self.duration) > duration('0s')",message="duration must be positive"
type SyncWindow struct {
	// Kind: allow (sync only inside allow windows) or deny (never sync inside).
	Kind SyncWindowKind `json:"kind"`
	// Schedule is a five-field cron expression for when the window opens.
	// +kubebuilder:validation:MinLength=9
	// +kubebuilder:validation:MaxLength=128
	Schedule string `json:"schedule"`
	// Duration the window stays open.
	Duration metav1.Duration `json:"duration"`
	// TimeZone of the schedule (IANA name); UTC when unset.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	TimeZone string `json:"timeZone,omitempty"`
	// ManualSync lets a manual sync request override this window.
	// +optional
	ManualSync bool `json:"manualSync,omitempty"`
}

// RolloutStrategy is how a new revision replaces the old one.
// +kubebuilder:validation:Enum=Rolling;Canary
type RolloutStrategy string

// Rollout strategies.
const (
	RolloutRolling RolloutStrategy = "Rolling"
	RolloutCanary  RolloutStrategy = "Canary"
)

// RolloutSpec is the progressive delivery policy.
// +kubebuilder:validation:XValidation:rule="self.strategy != 'Canary' || (has(self.steps) && self.steps.size() > 0)",message="a Canary rollout needs steps"
type RolloutSpec struct {
	// Strategy: Rolling (the native Deployment rollout) or Canary (weighted steps).
	// +kubebuilder:default=Rolling
	// +optional
	Strategy RolloutStrategy `json:"strategy,omitempty"`

	// Steps of a Canary rollout; weights ascend from 1 to 100.
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:XValidation:rule="self.map(s, s.weight).isSorted() && self.all(a, self.exists_one(b, b.weight == a.weight))",message="step weights must be strictly ascending"
	// +optional
	Steps []CanaryStep `json:"steps,omitempty"`

	// HealthTimeout is how long a revision may take to become healthy.
	// +kubebuilder:default="5m"
	// +optional
	HealthTimeout *metav1.Duration `json:"healthTimeout,omitempty"`

	// Analysis queries gate every step.
	// +kubebuilder:validation:MaxItems=10
	// +optional
	Analysis []AnalysisMetric `json:"analysis,omitempty"`

	// AutoRollback returns an environment to its last healthy revision when a rollout fails.
	// +kubebuilder:default=true
	// +optional
	AutoRollback *bool `json:"autoRollback,omitempty"`
}

// CanaryStep is one step of a Canary rollout.
type CanaryStep struct {
	// Weight is the share of pods, in percent, that run the new revision.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	Weight int32 `json:"weight"`
	// Pause after the step is healthy, before the next one.
	// +optional
	Pause *metav1.Duration `json:"pause,omitempty"`
	// RequireApproval holds the rollout at this step, once it is healthy, paused and
	// passing analysis, until a person approves it: `landfall promote APP --env ENV`, or
	// the annotation approve.landfall.dev/<environment>:
	// '{"revision":"<revision>","step":<index>}'. Health and analysis still gate it
	// while it waits.
	// +optional
	RequireApproval bool `json:"requireApproval,omitempty"`
}

// AnalysisMetric is a metric query with a threshold.
// +kubebuilder:validation:XValidation:rule="has(self.min) || has(self.max)",message="set min or max"
type AnalysisMetric struct {
	// Name of the metric, for status and events.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// Prometheus to query.
	Prometheus PrometheusQuery `json:"prometheus"`
	// Min: the step fails when the value is below.
	// +optional
	Min *float64 `json:"min,omitempty"`
	// Max: the step fails when the value is above.
	// +optional
	Max *float64 `json:"max,omitempty"`
	// Interval between queries.
	// +kubebuilder:default="30s"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`
	// FailureLimit: more failed measurements than this fail the step.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=0
	// +optional
	FailureLimit int32 `json:"failureLimit,omitempty"`
	// InconclusiveLimit: more inconclusive measurements in a row than this fail the step.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=3
	// +optional
	InconclusiveLimit int32 `json:"inconclusiveLimit,omitempty"`
}

// PrometheusQuery is a PromQL query against a Prometheus server.
type PrometheusQuery struct {
	// Address of Prometheus, such as http://prometheus.monitoring:9090.
	// +kubebuilder:validation:Pattern=`^https?://`
	// +kubebuilder:validation:MaxLength=1024
	Address string `json:"address"`
	// Query in PromQL; it must return one sample. {{ .Namespace }}, {{ .Environment }}
	// and {{ .Application }} stand for the environment's namespace, the environment's
	// name and the Application's name, so one query serves every environment.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Query string `json:"query"`
}
