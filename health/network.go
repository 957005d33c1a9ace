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

// ingressHealth: an Ingress serves once its controller has published the address it
// listens on, as Argo CD reads it. Until then no DNS name can point at it and nothing shows
// that a controller picked it up at all (a wrong class, none running), so it is
// Progressing and the health timeout decides. A controller that never publishes an address
// must be told to (ingress-nginx --publish-service, Traefik's publishedService): the
// address is also what external-dns and `kubectl get ingress` read.
func ingressHealth(obj *unstructured.Unstructured) Result {
	class := text(obj, "spec", "ingressClassName")
	if class == "" {
		class = obj.GetAnnotations()["kubernetes.io/ingress.class"]
	}
	if class == "" {
		class = "default"
	}
	return loadBalancerHealth(obj, "waiting for the "+class+" ingress controller to publish an address")
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
