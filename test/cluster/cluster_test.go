package cluster_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/landfall-dev/landfall/test/cluster"
)

func startCluster(t *testing.T, name string) *cluster.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := cluster.Start(ctx, cluster.Options{Name: name, Dir: t.TempDir(), Log: t.Logf})
	if err != nil {
		t.Fatalf("starting cluster %s: %v", name, err)
	}
	t.Cleanup(c.Stop)
	return c
}

func deployment(name, image string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas:                ptr.To[int32](3),
			ProgressDeadlineSeconds: ptr.To[int32](8),
			Selector:                &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}}},
			},
		},
	}
}

func condition(d *appsv1.Deployment, typ appsv1.DeploymentConditionType) (corev1.ConditionStatus, string) {
	for _, c := range d.Status.Conditions {
		if c.Type == typ {
			return c.Status, c.Reason
		}
	}
	return "", ""
}

// TestFullCluster proves Deployments really roll in the full cluster: available, updated,
// and stalled by a ":bad" image; and that two clusters run side by side.
func TestFullCluster(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c1 := startCluster(t, "one")
	c2 := startCluster(t, "two")
	g.Expect(c1.Ports.APIServer).NotTo(Equal(c2.Ports.APIServer))

	for _, c := range []*cluster.Cluster{c1, c2} {
		cs := c.Clientset()
		deps := cs.AppsV1().Deployments("default")
		_, err := deps.Create(ctx, deployment("web", "registry.example/web:v1"), metav1.CreateOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		waitRolledOut(g, cs, "web", "registry.example/web:v1")
	}

	cs := c1.Clientset()
	deps := cs.AppsV1().Deployments("default")
	setImage(g, deps, "registry.example/web:v2")
	waitRolledOut(g, cs, "web", "registry.example/web:v2")

	setImage(g, deps, "registry.example/web:bad")
	g.Eventually(func(g Gomega) {
		d, err := deps.Get(ctx, "web", metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		status, reason := condition(d, appsv1.DeploymentProgressing)
		g.Expect(status).To(Equal(corev1.ConditionFalse))
		g.Expect(reason).To(Equal("ProgressDeadlineExceeded"))
		g.Expect(d.Status.AvailableReplicas).To(BeNumerically(">=", 2), "the old pods keep serving")
	}).WithTimeout(60 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())

	// The second cluster never saw the bad image.
	d2, err := c2.Clientset().AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(d2.Spec.Template.Spec.Containers[0].Image).To(Equal("registry.example/web:v1"))
}

func setImage(g *WithT, deps interface {
	Get(context.Context, string, metav1.GetOptions) (*appsv1.Deployment, error)
	Update(context.Context, *appsv1.Deployment, metav1.UpdateOptions) (*appsv1.Deployment, error)
}, image string) {
	g.Eventually(func() error {
		d, err := deps.Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		d.Spec.Template.Spec.Containers[0].Image = image
		_, err = deps.Update(context.Background(), d, metav1.UpdateOptions{})
		return err
	}).WithTimeout(10 * time.Second).Should(Succeed())
}

func waitRolledOut(g *WithT, cs kubernetes.Interface, name, image string) {
	g.Eventually(func(g Gomega) {
		d, err := cs.AppsV1().Deployments("default").Get(context.Background(), name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(d.Status.ObservedGeneration).To(Equal(d.Generation))
		g.Expect(d.Status.UpdatedReplicas).To(Equal(int32(3)))
		g.Expect(d.Status.AvailableReplicas).To(Equal(int32(3)))
		g.Expect(d.Status.Replicas).To(Equal(int32(3)), "old pods are gone")
		status, _ := condition(d, appsv1.DeploymentAvailable)
		g.Expect(status).To(Equal(corev1.ConditionTrue))
		g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal(image))
	}).WithTimeout(60 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
}
