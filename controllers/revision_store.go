package controllers

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// revisionStore keeps the rendered objects of each environment's last healthy revision in
// a Secret (the objects may hold Secrets) next to the Application, so a rollback works
// while Git is unreachable and after the checkout cache forgot the commit.
type revisionStore struct {
	client client.Client
	reader client.Reader
}

const (
	storeRevisionKey = "revision"
	storeObjectsKey  = "objects.json.gz"
	// maxStoredBytes keeps the Secret under the apiserver's object size limit.
	maxStoredBytes = 900 << 10
)

func storeName(app *landfallv1.Application, env string) string {
	return "landfall-" + app.Name + "-" + env + "-healthy"
}

// save records the objects of a healthy revision, replacing the previous one.
func (s *revisionStore) save(ctx context.Context, app *landfallv1.Application, env, revision string, objs []*unstructured.Unstructured) error {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(objs); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if buf.Len() > maxStoredBytes {
		return fmt.Errorf("rendered objects of %s take %d bytes compressed, more than a Secret holds", revision, buf.Len())
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: storeName(app, env), Namespace: app.Namespace}}
	_, err := createOrUpdate(ctx, s.client, s.reader, sec, func() {
		sec.Labels = map[string]string{landfallv1.LabelApplication: applicationLabel(app.Namespace, app.Name),
			landfallv1.LabelEnvironment: env}
		sec.OwnerReferences = []metav1.OwnerReference{{APIVersion: landfallv1.GroupVersion.String(), Kind: "Application",
			Name: app.Name, UID: app.UID}}
		sec.Type = "landfall.dev/rendered-revision"
		sec.Data = map[string][]byte{storeRevisionKey: []byte(revision), storeObjectsKey: buf.Bytes()}
	})
	return err
}

// load returns the stored objects when the stored revision is the one asked for.
func (s *revisionStore) load(ctx context.Context, app *landfallv1.Application, env, revision string) ([]*unstructured.Unstructured, bool, error) {
	sec := &corev1.Secret{}
	err := s.reader.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: storeName(app, env)}, sec)
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil || string(sec.Data[storeRevisionKey]) != revision {
		return nil, false, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(sec.Data[storeObjectsKey]))
	if err != nil {
		return nil, false, fmt.Errorf("stored revision %s: %w", revision, err)
	}
	var objs []*unstructured.Unstructured
	if err := json.NewDecoder(io.LimitReader(zr, 64<<20)).Decode(&objs); err != nil {
		return nil, false, fmt.Errorf("stored revision %s: %w", revision, err)
	}
	return objs, true, nil
}

// createOrUpdate writes obj after mutate, reading the current object from reader.
func createOrUpdate(ctx context.Context, c client.Client, reader client.Reader, obj *corev1.Secret, mutate func()) (bool, error) {
	err := reader.Get(ctx, client.ObjectKeyFromObject(obj), obj)
	if apierrors.IsNotFound(err) {
		mutate()
		return true, c.Create(ctx, obj)
	}
	if err != nil {
		return false, err
	}
	mutate()
	return false, c.Update(ctx, obj)
}
