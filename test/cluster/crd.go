package cluster

import (
	"fmt"
	"strings"
)

// CRDYAML is the smallest namespaced CustomResourceDefinition of kind in group, served
// at v1 and accepting any fields: what a test needs to make a cluster serve a kind.
func CRDYAML(group, kind string) string {
	singular := strings.ToLower(kind)
	return fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: %[3]ss.%[1]s}
spec:
  group: %[1]s
  scope: Namespaced
  names: {kind: %[2]s, plural: %[3]ss, singular: %[3]s, listKind: %[2]sList}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`, group, kind, singular)
}
