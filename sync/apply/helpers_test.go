package apply

import (
	"context"

	. "github.com/onsi/gomega"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
)

func replicas(ctx context.Context, g Gomega, ns, name string) int64 {
	l, err := live(ctx, ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: ns, Name: name})
	g.Expect(err).NotTo(HaveOccurred())
	n, _, _ := unstructured.NestedInt64(l.Object, "spec", "replicas")
	return n
}

// scaleTo writes spec.replicas through the scale subresource under another field
// manager, as the HorizontalPodAutoscaler controller does.
func scaleTo(ctx context.Context, g Gomega, ns, name string, n int32) {
	cs := kubernetes.NewForConfigOrDie(cfg)
	_, err := cs.AppsV1().Deployments(ns).UpdateScale(ctx, name, &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       autoscalingv1.ScaleSpec{Replicas: n},
	}, metav1.UpdateOptions{FieldManager: "horizontal-pod-autoscaler"})
	g.Expect(err).NotTo(HaveOccurred())
}
