package main

import (
	"context"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// publishIngresses plays the ingress controller the demo cluster lacks: every Ingress gets
// the address an ingress controller would publish (Landfall reads an Ingress without one as
// Progressing). It stops with ctx.
func publishIngresses(ctx context.Context, k8s client.Client) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		list := &networkingv1.IngressList{}
		if err := k8s.List(ctx, list); err == nil {
			for i := range list.Items {
				ing := &list.Items[i]
				if len(ing.Status.LoadBalancer.Ingress) > 0 {
					continue
				}
				ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "127.0.0.1"}}
				_ = k8s.Status().Update(ctx, ing) // a conflict is retried at the next tick
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
