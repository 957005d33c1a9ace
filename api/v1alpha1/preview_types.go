package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PreviewSpec says which pull requests get a preview and how it is deployed.
type PreviewSpec struct {
	// RepositoryRef names the Repository whose pull-request refs are previewed.
	RepositoryRef LocalObjectReference `json:"repositoryRef"`

	// Refs are globs of refs that count as pull requests: refs/pull/*/head,
	// refs/merge-requests/*/head, or branch globs such as refs/heads/feature/*.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	Refs []string `json:"refs"`

	// NamespaceTemplate makes each preview's namespace, from {{.Number}}, {{.Branch}} and
	// {{.ShortSHA}}; the result is made DNS-safe.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	NamespaceTemplate string `json:"namespaceTemplate"`

	// Path in the repository; the template's path overrides it.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Path string `json:"path,omitempty"`

	// Template of the environment each preview deploys.
	Template EnvironmentTemplate `json:"template"`

	// ServiceAccountName is a ServiceAccount in the Preview's namespace that each preview's
	// Application deploys as (see ApplicationSpec.ServiceAccountName).
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// Rollout policy of each preview.
	// +optional
	Rollout *RolloutSpec `json:"rollout,omitempty"`

	// MaxPreviews bounds how many previews run; the rest wait.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=200
	// +kubebuilder:default=10
	// +optional
	MaxPreviews int32 `json:"maxPreviews,omitempty"`

	// TTL removes a preview whose pull request has not changed for this long.
	// +optional
	TTL *metav1.Duration `json:"ttl,omitempty"`

	// Suspend stops creating and updating previews.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// PreviewState says whether a preview runs, waits for room, or was removed while its ref
// stays.
// +kubebuilder:validation:Enum=Running;Waiting;Expired;Closed
type PreviewState string

// Preview states. Expired (TTL) and Closed (a closed webhook: Git hosts keep the ref of a
// closed pull request) stay until the pull request's head changes or it is reopened.
const (
	PreviewRunning PreviewState = "Running"
	PreviewWaiting PreviewState = "Waiting"
	PreviewExpired PreviewState = "Expired"
	PreviewClosed  PreviewState = "Closed"
)

// Labels and annotations on the children of a Preview (Repository, Application, namespace).
// They are API.
const (
	// LabelPreview names the Preview (as "<namespace>.<name>", hashed down past 63
	// characters) that made the object.
	LabelPreview = "landfall.dev/preview"
	// LabelPullRequest is the pull request's number ("0" for a branch).
	LabelPullRequest = "landfall.dev/pull-request"
	// AnnotationPreviewRef is the full ref the child deploys, such as refs/pull/1/head.
	AnnotationPreviewRef = "landfall.dev/preview-ref"
	// AnnotationPreviewNamespaces, on a child Repository, lists the namespaces the Preview
	// created for that pull request, so they can be deleted after its Application.
	AnnotationPreviewNamespaces = "landfall.dev/preview-namespaces"
)

// PreviewEntry is one pull request's preview.
type PreviewEntry struct {
	// Number of the pull request (0 for a branch).
	Number int64 `json:"number"`
	// Ref of the pull request.
	Ref string `json:"ref"`
	// Revision of the pull request's head.
	// +optional
	Revision string `json:"revision,omitempty"`
	// Namespace the preview runs in.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Application is the child Application's name.
	// +optional
	Application string `json:"application,omitempty"`
	// State of the preview.
	State PreviewState `json:"state"`
	// Health of the preview.
	// +optional
	Health Health `json:"health,omitempty"`
	// URL from an Ingress host, when there is one.
	// +optional
	URL string `json:"url,omitempty"`
	// Message explains the state.
	// +optional
	Message string `json:"message,omitempty"`
	// UpdatedAt is when the pull request's head last changed.
	// +optional
	UpdatedAt *metav1.Time `json:"updatedAt,omitempty"`
}

// PreviewStatus is the observed state of a Preview.
type PreviewStatus struct {
	// ObservedGeneration is the generation last reconciled successfully.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Running and Waiting count the previews.
	// +optional
	Running int32 `json:"running"`
	// +optional
	Waiting int32 `json:"waiting"`
	// Previews, by pull request number.
	// +optional
	Previews []PreviewEntry `json:"previews,omitempty"`
	// Conditions: Ready, Reconciling, Stalled.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Preview deploys every open pull request of a Repository into its own namespace.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=lfpreview;lfpreviews,categories=landfall
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Running",type=integer,JSONPath=`.status.running`
// +kubebuilder:printcolumn:name="Waiting",type=integer,JSONPath=`.status.waiting`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Preview struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   PreviewSpec   `json:"spec"`
	Status PreviewStatus `json:"status,omitempty"`
}

// GetConditions returns the conditions of the Preview.
func (p *Preview) GetConditions() []metav1.Condition { return p.Status.Conditions }

// SetConditions replaces the conditions of the Preview.
func (p *Preview) SetConditions(c []metav1.Condition) { p.Status.Conditions = c }

// +kubebuilder:object:root=true

// PreviewList is a list of Previews.
type PreviewList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Preview `json:"items"`
}

// SetObservedGeneration records the generation the controller acted on.
func (p *Preview) SetObservedGeneration(g int64) { p.Status.ObservedGeneration = g }
