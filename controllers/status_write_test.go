package controllers_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/controllers"
)

// TestStatusWriteFailureIsACondition: when the apiserver refuses a status write (as etcd
// refuses one too large), the user sees it on the object (Ready=False, Stalled=True,
// reason StatusWriteFailed, naming the error) and in a Warning Event, not only in a log
// line; the refused status is not half-written, and the error still reaches the caller.
func TestStatusWriteFailureIsACondition(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	// Suspended, so the controller leaves its conditions alone once it has seen it.
	app := &landfallv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "big", Namespace: ns},
		Spec: landfallv1.ApplicationSpec{RepositoryRef: landfallv1.LocalObjectReference{Name: "none"}, Path: ".",
			Suspend: true, Environments: []landfallv1.Environment{{Name: "prod", Namespace: ns}}},
	}
	g.Expect(k8s.Create(ctx, app)).To(Succeed())
	g.Eventually(func(g Gomega) int64 {
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
		return app.Status.ObservedGeneration
	}, timeout, poll).Should(Equal(app.Generation))

	tooLarge := apierrors.NewInternalError(errors.New("etcdserver: request is too large"))
	refused := 0
	ww, err := client.NewWithWatch(restConfig, client.Options{Scheme: k8s.Scheme()})
	g.Expect(err).NotTo(HaveOccurred())
	c := interceptor.NewClient(ww, interceptor.Funcs{
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch,
			opts ...client.SubResourcePatchOption) error {
			data, err := patch.Data(obj)
			if err != nil {
				return err
			}
			if strings.Contains(string(data), "the-new-revision") {
				refused++
				return tooLarge
			}
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	})
	rec := events.NewFakeRecorder(4)
	before := app.DeepCopy()
	app.Status.Revision = "the-new-revision"
	err = controllers.PatchApplicationStatusForTest(ctx, c, rec, before, app)
	g.Expect(err).To(MatchError(ContainSubstring("request is too large")))
	g.Expect(refused).To(Equal(1))

	stored := &landfallv1.Application{}
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(app), stored)).To(Succeed())
	g.Expect(stored.Status.Revision).NotTo(Equal("the-new-revision"))
	readyCond := apimeta.FindStatusCondition(stored.Status.Conditions, landfallv1.ConditionReady)
	g.Expect(readyCond).NotTo(BeNil())
	g.Expect(readyCond.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(readyCond.Reason).To(Equal(landfallv1.ReasonStatusWriteFailed))
	g.Expect(readyCond.Message).To(ContainSubstring("request is too large"))
	g.Expect(apimeta.IsStatusConditionTrue(stored.Status.Conditions, landfallv1.ConditionStalled)).To(BeTrue())
	g.Expect(rec.Events).To(Receive(And(ContainSubstring("Warning"), ContainSubstring(landfallv1.ReasonStatusWriteFailed),
		ContainSubstring("request is too large"))))
}
