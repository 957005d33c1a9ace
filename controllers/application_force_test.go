package controllers_test

import (
	"context"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

func jobYAML(image, annotations string) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata: {name: migrate, annotations: {%s}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: %q}]
`, annotations, image)
}

// TestImmutableJobChange: a commit that changes a Job's template fails with a condition
// naming the field and the annotation that opts in; the next commit, with the annotation,
// has the Job recreated.
func TestImmutableJobChange(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f := newFixture(t, map[string]string{"apps/web/job.yaml": jobYAML("migrate:1", "")}, nil)
	target := f.ns + "-staging"
	first := &batchv1.Job{}
	g.Eventually(func() error {
		return k8s.Get(ctx, client.ObjectKey{Namespace: target, Name: "migrate"}, first)
	}, timeout, poll).Should(Succeed())

	f.push(t, writeFile(g, "apps/web/job.yaml", jobYAML("migrate:2", "")))
	g.Eventually(func(g Gomega) {
		ready := apimeta.FindStatusCondition(f.get(g).Status.Conditions, landfallv1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Reason).To(Equal(landfallv1.ReasonApplyFailed))
		g.Expect(ready.Message).To(And(ContainSubstring("spec.template"), ContainSubstring(landfallv1.AnnotationForce)))
	}, timeout, poll).Should(Succeed())
	same := &batchv1.Job{}
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(first), same)).To(Succeed())
	g.Expect(same.UID).To(Equal(first.UID), "without force the Job stays as it was")

	f.push(t, writeFile(g, "apps/web/job.yaml", jobYAML("migrate:2", landfallv1.AnnotationForce+`: "true"`)))
	g.Eventually(func(g Gomega) {
		j := &batchv1.Job{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(first), j)).To(Succeed())
		g.Expect(j.UID).NotTo(Equal(first.UID))
		g.Expect(j.Spec.Template.Spec.Containers[0].Image).To(Equal("migrate:2"))
	}, timeout, poll).Should(Succeed())
}
