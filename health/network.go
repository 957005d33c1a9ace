package health

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// serviceHealth: only a LoadBalancer Service waits for anything — its external address.
func serviceHealth(obj *unstructured.Unstructured) Result {
	if text(obj, "spec", "type") != "LoadBalancer" {
		return Result{Status: Healthy}
	}
	return loadBalancerHealth(obj, "waiting for the load balancer address")
}

// ingressHealth: an Ingress is healthy, with its address once its controller publishes
// one. Many ingress controllers never publish an address, and a cluster may have none at
// all; gating rollouts on it would roll back releases that serve fine.
func ingressHealth(obj *unstructured.Unstructured) Result {
	r := loadBalancerHealth(obj, "")
	if r.Status != Healthy {
		return Result{Status: Healthy, Message: "no address published yet (is an ingress controller running?)"}
	}
	return r
}

func loadBalancerHealth(obj *unstructured.Unstructured, waiting string) Result {
	ingress, _, _ := unstructured.NestedSlice(obj.Object, "status", "loadBalancer", "ingress")
	for _, i := range ingress {
		m, ok := i.(map[string]any)
		if !ok {
			continue
		}
		if addr := str(m["ip"]) + str(m["hostname"]); addr != "" {
			return Result{Status: Healthy, Message: fmt.Sprintf("address %s", firstNonEmpty(str(m["hostname"]), str(m["ip"])))}
		}
	}
	return Result{Status: Progressing, Message: waiting}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
