package apply

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const forceKey = "landfall.dev/force"

func job(t testing.TB, ns, image string) *unstructured.Unstructured {
	return obj(t, `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: %s}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: %q}]
`, ns, image)
}

func pvc(t testing.TB, ns, mode string) *unstructured.Unstructured {
	return obj(t, `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: %s}
spec:
  accessModes: [%s]
  resources: {requests: {storage: 1Gi}}
`, ns, mode)
}

// TestImmutableChange: a Job whose template changed cannot be updated in place. Without
// force the error names the field and the annotation that opts in, and the Job stays; with
// the annotation on the object, or Force for the whole apply, it is deleted and created
// again. A PersistentVolumeClaim is never recreated, forced or not.
func TestImmutableChange(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	m := newManager(t, k8s, "apps/jobs/staging", func(o *Options) { o.ForceAnnotation = forceKey })
	ns := unique("apply-immutable")
	_, err := m.Apply(ctx, []*unstructured.Unstructured{namespace(t, ns), job(t, ns, "migrate:1"), pvc(t, ns, "ReadWriteOnce")})
	g.Expect(err).NotTo(HaveOccurred())
	first, err := live(ctx, RefOf(job(t, ns, "")))
	g.Expect(err).NotTo(HaveOccurred())

	cs, err := m.Apply(ctx, []*unstructured.Unstructured{job(t, ns, "migrate:2")})
	g.Expect(err).To(MatchError(ErrImmutable))
	g.Expect(err.Error()).To(And(ContainSubstring("spec.template"), ContainSubstring(forceKey+`: "true"`)))
	g.Expect(actions(cs, ns)).To(Equal([]string{"Job.batch/NS/migrate Failed"}))
	same, err := live(ctx, RefOf(first))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(same.GetUID()).To(Equal(first.GetUID()), "without force the Job stays")

	cs, err = m.Apply(ctx, []*unstructured.Unstructured{withAnnotation(job(t, ns, "migrate:2"), forceKey, "true")})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(actions(cs, ns)).To(Equal([]string{"Job.batch/NS/migrate Recreated"}))
	again, err := live(ctx, RefOf(first))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again.GetUID()).NotTo(Equal(first.GetUID()), "recreated")
	containers, _, _ := unstructured.NestedSlice(again.Object, "spec", "template", "spec", "containers")
	g.Expect(containers[0].(map[string]any)["image"]).To(Equal("migrate:2"))

	all := newManager(t, k8s, "apps/jobs/staging", func(o *Options) { o.ForceAnnotation, o.Force = forceKey, true })
	cs, err = all.Apply(ctx, []*unstructured.Unstructured{job(t, ns, "migrate:3")})
	g.Expect(err).NotTo(HaveOccurred(), "Force recreates every object")
	g.Expect(actions(cs, ns)).To(Equal([]string{"Job.batch/NS/migrate Recreated"}))

	claim, err := live(ctx, RefOf(pvc(t, ns, "")))
	g.Expect(err).NotTo(HaveOccurred())
	_, err = all.Apply(ctx, []*unstructured.Unstructured{withAnnotation(pvc(t, ns, "ReadWriteMany"), forceKey, "true")})
	g.Expect(err).To(MatchError(ErrImmutable))
	g.Expect(err.Error()).To(ContainSubstring("PersistentVolumeClaim is never recreated"))
	after, err := live(ctx, RefOf(claim))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(after.GetUID()).To(Equal(claim.GetUID()), "the claim is left alone")
}

func definition(t testing.TB, n int64, scope string) *unstructured.Unstructured {
	return obj(t, `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets%[1]d.force.example.test}
spec:
  group: force.example.test
  scope: %[2]s
  names: {plural: widgets%[1]d, singular: widget%[1]d, kind: Widget%[1]d, listKind: Widget%[1]dList}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`, n, scope)
}

// TestForceNeverRecreatesDefinitions: a CustomResourceDefinition whose scope changed (an
// immutable field) is refused even when forced, with a message saying why, and it stays:
// recreating it would delete every custom resource of it. (A Namespace has no field a
// manifest can change that the apiserver refuses as immutable, so its refusal is the same
// rule, unsafeToRecreate, without an apiserver case of its own.)
func TestForceNeverRecreatesDefinitions(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	m := newManager(t, k8s, "apps/defs/staging", func(o *Options) { o.ForceAnnotation, o.Force = forceKey, true })
	n := runs.Add(1)
	crd := definition(t, n, "Namespaced")
	_, err := m.Apply(ctx, []*unstructured.Unstructured{crd})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), crd) })
	first, err := live(ctx, RefOf(crd))
	g.Expect(err).NotTo(HaveOccurred())

	_, err = m.Apply(ctx, []*unstructured.Unstructured{withAnnotation(definition(t, n, "Cluster"), forceKey, "true")})
	g.Expect(err).To(MatchError(ErrImmutable))
	g.Expect(err.Error()).To(And(ContainSubstring("spec.scope"), ContainSubstring("CustomResourceDefinition is never recreated")))
	after, err := live(ctx, RefOf(crd))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(after.GetUID()).To(Equal(first.GetUID()), "the definition is left alone")
	scope, _, _ := unstructured.NestedString(after.Object, "spec", "scope")
	g.Expect(scope).To(Equal("Namespaced"))
}
