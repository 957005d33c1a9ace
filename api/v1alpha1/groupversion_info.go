// Package v1alpha1 holds the landfall.dev/v1alpha1 API: Repository, Application, Preview,
// TenantPolicy and Notification.
//
// It imports only apimachinery, so clients can use the types without pulling in Landfall.
// +kubebuilder:object:generate=true
// +groupName=landfall.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every type in this package.
	GroupVersion = schema.GroupVersion{Group: "landfall.dev", Version: "v1alpha1"}

	schemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this package to a scheme.
	AddToScheme = schemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&Repository{}, &RepositoryList{},
		&Application{}, &ApplicationList{},
		&Preview{}, &PreviewList{},
		&TenantPolicy{}, &TenantPolicyList{},
		&Notification{}, &NotificationList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
