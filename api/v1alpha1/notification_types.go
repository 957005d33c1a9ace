package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NotificationEvent is a kind of event Landfall tells people about. The names are API.
// +kubebuilder:validation:Enum=NewRevision;Synced;Promoted;Baking;CanaryStep;AnalysisFailed;RolledBack;SyncFailed;DriftCorrected;PreviewUp;PreviewUpdated;PreviewRemoved;PolicyViolation
type NotificationEvent string

// NotificationTargetType says where and in which shape events go.
// +kubebuilder:validation:Enum=webhook;slack;teams;discord;gitea;github;gitlab
type NotificationTargetType string

// Target types. webhook posts the event as JSON; slack, teams and discord post those services'
// webhook message shapes; gitea (also Forgejo), github and gitlab set commit statuses and
// comment on pull requests through the forge's API.
const (
	TargetWebhook NotificationTargetType = "webhook"
	TargetSlack   NotificationTargetType = "slack"
	TargetTeams   NotificationTargetType = "teams"
	TargetDiscord NotificationTargetType = "discord"
	TargetGitea   NotificationTargetType = "gitea"
	TargetGitHub  NotificationTargetType = "github"
	TargetGitLab  NotificationTargetType = "gitlab"
)

// NotificationSpec says which events of which objects go to which targets.
type NotificationSpec struct {
	// Events are the kinds of event sent; empty sends every kind.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Events []NotificationEvent `json:"events,omitempty"`

	// Objects select the Applications, Repositories and Previews of the Notification's own
	// namespace whose events are sent; an event is sent when any selector matches. Empty
	// selects every object of the namespace. A Notification never sees another namespace.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Objects []ObjectSelector `json:"objects,omitempty"`

	// Targets receive the selected events, each through its own queue.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	// +listType=map
	// +listMapKey=name
	Targets []NotificationTarget `json:"targets"`

	// Suspend stops sending: events published meanwhile are not kept.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// ObjectSelector selects Landfall objects by kind, name and labels; an empty field selects
// any.
type ObjectSelector struct {
	// Kind of the objects.
	// +kubebuilder:validation:Enum=Application;Repository;Preview
	// +optional
	Kind string `json:"kind,omitempty"`
	// Name is a glob of object names (path.Match: *, ?, [a-z]).
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Name string `json:"name,omitempty"`
	// LabelSelector on the objects' labels.
	// +optional
	LabelSelector *metav1.LabelSelector `json:"labelSelector,omitempty"`
	// Environments are globs of an Application's environments; events of other environments
	// are not sent. Events without an environment pass.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Environments []string `json:"environments,omitempty"`
}

// NotificationTarget is one destination.
type NotificationTarget struct {
	// Name of the target, unique in the Notification.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// Type of the target.
	Type NotificationTargetType `json:"type"`
	// SecretRef names a Secret in the Notification's namespace. Its keys: "address", the
	// webhook URL (for a forge: its API base URL, optional, else derived from the
	// Repository's URL); "token", a forge's API token; "hmacKey", optional, signs every
	// webhook body (X-Landfall-Signature: sha256=<hex>). Addresses and tokens are secrets:
	// they never appear in status, Events or logs.
	SecretRef LocalObjectReference `json:"secretRef"`
	// QueueLimit bounds the events waiting for this target; past it the oldest is dropped
	// and counted.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	// +kubebuilder:default=100
	// +optional
	QueueLimit int32 `json:"queueLimit,omitempty"`
}

// NotificationTargetState: Healthy delivers; Retrying failed its last attempts; Dead failed
// five in a row and keeps retrying at the longest backoff (10 s).
// +kubebuilder:validation:Enum=Healthy;Retrying;Dead;NotConfigured
type NotificationTargetState string

// Target states.
const (
	TargetHealthy       NotificationTargetState = "Healthy"
	TargetRetrying      NotificationTargetState = "Retrying"
	TargetDead          NotificationTargetState = "Dead"
	TargetNotConfigured NotificationTargetState = "NotConfigured"
)

// NotificationTargetStatus is what one target did since the controller started.
type NotificationTargetStatus struct {
	Name  string                  `json:"name"`
	State NotificationTargetState `json:"state"`
	// Queued events wait to be sent.
	// +optional
	Queued int32 `json:"queued"`
	// Delivered events, Dropped ones (the queue was full, oldest first), Failed ones (the
	// target refused them for good), Duplicates not sent again.
	// +optional
	Delivered int64 `json:"delivered"`
	// +optional
	Dropped int64 `json:"dropped"`
	// +optional
	Failed int64 `json:"failed"`
	// +optional
	Duplicates int64 `json:"duplicates"`
	// LastError of the last failed attempt (never the address or token).
	// +optional
	LastError string `json:"lastError,omitempty"`
	// LastDelivered is when the last event was delivered.
	// +optional
	LastDelivered *metav1.Time `json:"lastDelivered,omitempty"`
}

// NotificationStatus is the observed state of a Notification.
type NotificationStatus struct {
	// ObservedGeneration is the generation last reconciled successfully.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Targets, by name.
	// +optional
	Targets []NotificationTargetStatus `json:"targets,omitempty"`
	// Conditions: Ready, Reconciling, Stalled.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Notification sends the events of a namespace's Landfall objects to chat, webhooks and the
// Git forge (commit statuses, pull-request comments).
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=lfnotification;lfnotifications,categories=landfall
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Notification struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   NotificationSpec   `json:"spec"`
	Status NotificationStatus `json:"status,omitempty"`
}

// GetConditions returns the conditions of the Notification.
func (n *Notification) GetConditions() []metav1.Condition { return n.Status.Conditions }

// SetConditions replaces the conditions of the Notification.
func (n *Notification) SetConditions(c []metav1.Condition) { n.Status.Conditions = c }

// SetObservedGeneration records the generation the controller acted on.
func (n *Notification) SetObservedGeneration(g int64) { n.Status.ObservedGeneration = g }

// +kubebuilder:object:root=true

// NotificationList is a list of Notifications.
type NotificationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Notification `json:"items"`
}
