// Package tenant sets up what a platform team gives a tenant in tests: rights for its
// ServiceAccount in the namespaces it deploys to.
package tenant

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// AllVerbs is every verb Landfall uses on what it deploys.
var AllVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete"}

// Grant binds a Role of rules named name in namespace ns to the ServiceAccount sa of
// saNamespace.
func Grant(ctx context.Context, c client.Client, ns, saNamespace, sa, name string, rules ...rbacv1.PolicyRule) error {
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Rules: rules}
	if err := c.Create(ctx, role); err != nil {
		return fmt.Errorf("creating Role %s/%s: %w", ns, name, err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: saNamespace, Name: sa}}}
	if err := c.Create(ctx, rb); err != nil {
		return fmt.Errorf("creating RoleBinding %s/%s: %w", ns, name, err)
	}
	return nil
}
