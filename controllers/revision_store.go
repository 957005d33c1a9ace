package controllers

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/render/decrypt"
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
	// storeSealedKey holds the same, age-encrypted to the environment's decryption keys,
	// when it has any: its objects were rendered from SOPS files and hold clear secrets.
	storeSealedKey = "objects.json.gz.age"
	// storeOwnerKey holds the UID of the Application and the environment the objects
	// belong to, checked on every read and write.
	storeOwnerKey = "owner"
	// maxStoredBytes keeps the Secret under the apiserver's object size limit.
	maxStoredBytes = 900 << 10
)

// storeName names the Secret of one environment of one Application by a hash of the
// Application's UID and the environment: names cannot collide ("a-b"/"c" and "a"/"b-c"
// once did), an Application created again under the same name starts afresh, and the
// name is short whatever the lengths of the names.
func storeName(app *landfallv1.Application, env string) string {
	sum := sha256.Sum256([]byte(storeOwner(app, env)))
	return "landfall-healthy-" + hex.EncodeToString(sum[:])[:32]
}

func storeOwner(app *landfallv1.Application, env string) string { return string(app.UID) + "/" + env }

// errForeignStore reports a Secret under the store's name that is not this environment's.
var errForeignStore = errors.New("holds another Application's objects")

// owned checks that sec is the store of this Application's environment.
func owned(sec *corev1.Secret, app *landfallv1.Application, env string) error {
	if string(sec.Data[storeOwnerKey]) != storeOwner(app, env) ||
		!slices.ContainsFunc(sec.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == app.UID }) {
		return fmt.Errorf("secret %s/%s %w; Landfall leaves it alone", sec.Namespace, sec.Name, errForeignStore)
	}
	return nil
}

// gzipWriters are reused: a gzip writer holds about 800 KB of compressor state, and a
// fleet's first sync saves one revision per environment (at 1,000 Applications, a
// quarter of the controller's allocations).
var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// save records the objects of a healthy revision, replacing the previous one. It never
// overwrites a Secret that is not this environment's store.
func (s *revisionStore) save(ctx context.Context, app *landfallv1.Application, env, revision string, objs []*unstructured.Unstructured, keys *decrypt.Keys) error {
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&buf)
	defer func() { zw.Reset(io.Discard); gzipWriters.Put(zw) }() // not keeping buf alive
	if err := json.NewEncoder(zw).Encode(objs); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	payload, dataKey := buf.Bytes(), storeObjectsKey
	if !keys.Empty() {
		sealed, err := keys.Seal(payload)
		if err != nil {
			return fmt.Errorf("storing revision %s for rollbacks: %w", revision, err)
		}
		payload, dataKey = sealed, storeSealedKey
	}
	if len(payload) > maxStoredBytes {
		return fmt.Errorf("rendered objects of %s take %d bytes compressed, more than a Secret holds", revision, len(payload))
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: storeName(app, env), Namespace: app.Namespace}}
	_, err := createOrUpdate(ctx, s.client, s.reader, sec, func() error {
		if sec.ResourceVersion != "" {
			if err := owned(sec, app, env); err != nil {
				return err
			}
		}
		sec.Labels = map[string]string{landfallv1.LabelApplication: applicationLabel(app.Namespace, app.Name),
			landfallv1.LabelEnvironment: env}
		sec.OwnerReferences = []metav1.OwnerReference{{APIVersion: landfallv1.GroupVersion.String(), Kind: "Application",
			Name: app.Name, UID: app.UID}}
		sec.Type = "landfall.dev/rendered-revision"
		sec.Data = map[string][]byte{storeRevisionKey: []byte(revision), dataKey: payload,
			storeOwnerKey: []byte(storeOwner(app, env))}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storing revision %s for rollbacks: %w", revision, err)
	}
	return nil
}

// load returns the stored objects when the stored revision is the one asked for. A
// Secret under the store's name that is not this environment's is an error, never used.
func (s *revisionStore) load(ctx context.Context, app *landfallv1.Application, env, revision string, keys *decrypt.Keys) ([]*unstructured.Unstructured, bool, error) {
	sec := &corev1.Secret{}
	err := s.reader.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: storeName(app, env)}, sec)
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if err := owned(sec, app, env); err != nil {
		return nil, false, err
	}
	if string(sec.Data[storeRevisionKey]) != revision {
		return nil, false, nil
	}
	payload := sec.Data[storeObjectsKey]
	if sealed, ok := sec.Data[storeSealedKey]; ok {
		if payload, err = keys.Open(sealed, maxStoredBytes); err != nil {
			return nil, false, fmt.Errorf("stored revision %s is sealed with the decryption keys it was rendered with: %w: %w",
				revision, errDecryption, err)
		}
	}
	zr, err := gzip.NewReader(bytes.NewReader(payload))
	if err != nil {
		return nil, false, fmt.Errorf("stored revision %s: %w", revision, err)
	}
	var objs []*unstructured.Unstructured
	if err := json.NewDecoder(io.LimitReader(zr, 64<<20)).Decode(&objs); err != nil {
		return nil, false, fmt.Errorf("stored revision %s: %w", revision, err)
	}
	return objs, true, nil
}

// createOrUpdate writes obj after mutate, reading the current object from reader; an
// error of mutate writes nothing.
func createOrUpdate(ctx context.Context, c client.Client, reader client.Reader, obj *corev1.Secret, mutate func() error) (bool, error) {
	err := reader.Get(ctx, client.ObjectKeyFromObject(obj), obj)
	if apierrors.IsNotFound(err) {
		if err := mutate(); err != nil {
			return false, err
		}
		return true, c.Create(ctx, obj)
	}
	if err != nil {
		return false, err
	}
	if err := mutate(); err != nil {
		return false, err
	}
	return false, c.Update(ctx, obj)
}
