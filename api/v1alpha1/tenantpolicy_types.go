package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TenantPolicySpec is what the platform team lets a team do. Patterns are globs: "*"
// matches any run of characters except "/", "?" one character ("team-a-*", "https://git.example/team-a/*").
// Every policy that selects a namespace must allow an Application there: policies narrow,
// they never widen.
type TenantPolicySpec struct {
	// Namespaces (patterns) where the team creates Repositories, Applications and Previews.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	Namespaces []string `json:"namespaces"`

	// Repositories (URL patterns) the team may read. Empty: none.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=2048
	// +optional
	Repositories []string `json:"repositories,omitempty"`

	// Clusters the team may deploy to: "local" for the controller's own cluster, else the
	// name of an environment's kubeconfig Secret (patterns). Empty: only "local".
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	// +optional
	Clusters []string `json:"clusters,omitempty"`

	// Destinations (namespace patterns) the team's objects may go to. Empty: none.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	// +optional
	Destinations []string `json:"destinations,omitempty"`

	// ClusterScoped lets the team deploy cluster-scoped kinds (a Namespace named by an
	// environment is always allowed, unless denied below).
	// +optional
	ClusterScoped bool `json:"clusterScoped,omitempty"`

	// DeniedKinds the team may never deploy, as Kind or Kind.group ("ClusterRoleBinding",
	// "RoleBinding.rbac.authorization.k8s.io").
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	// +optional
	DeniedKinds []string `json:"deniedKinds,omitempty"`

	// NamespaceLabels are put on every namespace Landfall creates for the team (a Pod
	// Security level, the team's name).
	// +kubebuilder:validation:MaxProperties=32
	// +optional
	NamespaceLabels map[string]string `json:"namespaceLabels,omitempty"`

	// Isolation, when set, puts a deny-by-default NetworkPolicy in every namespace Landfall
	// creates for the team: only the team's own namespaces (and those named here) get in.
	// +optional
	Isolation *TenantIsolation `json:"isolation,omitempty"`

	// Quota is the hard ResourceQuota ("requests.cpu": "2", "pods": "20") of every
	// namespace Landfall creates for the team.
	// +kubebuilder:validation:MaxProperties=32
	// +optional
	Quota map[string]resource.Quantity `json:"quota,omitempty"`

	// DefaultLimits and DefaultRequests are the LimitRange of containers that name none, in
	// every namespace Landfall creates for the team (a quota on cpu or memory needs them).
	// +kubebuilder:validation:MaxProperties=8
	// +optional
	DefaultLimits map[string]resource.Quantity `json:"defaultLimits,omitempty"`
	// +kubebuilder:validation:MaxProperties=8
	// +optional
	DefaultRequests map[string]resource.Quantity `json:"defaultRequests,omitempty"`
}

// TenantIsolation is who may connect to a team's pods besides the team.
type TenantIsolation struct {
	// AllowFrom selects further namespaces whose pods may connect (the ingress
	// controller's, say).
	// +kubebuilder:validation:MaxItems=16
	// +optional
	AllowFrom []metav1.LabelSelector `json:"allowFrom,omitempty"`
}

// TenantPolicyStatus says whether the policy is valid and what it selects.
type TenantPolicyStatus struct {
	// ObservedGeneration is the generation last checked.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Namespaces that exist and the policy selects (at most 100 listed).
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`
	// Conditions: Ready says the policy is valid and selects at least one namespace.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// TenantPolicy binds the namespaces of a team to what it may deploy. It is written by the
// platform team, not by the Applications it confines.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=lftenant;lftenants,categories=landfall
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type TenantPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   TenantPolicySpec   `json:"spec"`
	Status TenantPolicyStatus `json:"status,omitempty"`
}

// GetConditions returns the conditions of the TenantPolicy.
func (p *TenantPolicy) GetConditions() []metav1.Condition { return p.Status.Conditions }

// SetConditions replaces the conditions of the TenantPolicy.
func (p *TenantPolicy) SetConditions(c []metav1.Condition) { p.Status.Conditions = c }

// +kubebuilder:object:root=true

// TenantPolicyList is a list of TenantPolicies.
type TenantPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TenantPolicy `json:"items"`
}

// LabelTenant names, on a namespace Landfall created, the TenantPolicy it was created under.
const LabelTenant = "landfall.dev/tenant"
