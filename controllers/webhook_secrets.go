package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
)

// errNoWebhookSecret is a webhook Secret that does not exist (yet) or was not listed in time.
var errNoWebhookSecret = errors.New("webhook secret not readable")

// webhookSecrets holds the webhook Secrets Repositories name, so verifying a delivery costs
// no apiserver request. Each one is watched on its own (a field selector on its name) from
// the first delivery that needs it: no other Secret is listed or held in memory, and a
// rotated token is used as soon as the watch brings it.
type webhookSecrets struct {
	client kubernetes.Interface

	mu      sync.Mutex
	stop    <-chan struct{} // the receiver's lifetime; nil until it starts
	watched map[types.NamespacedName]toolscache.SharedInformer
}

func newWebhookSecrets(cfg *rest.Config) (*webhookSecrets, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the Secret watch client: %w", err)
	}
	return &webhookSecrets{client: cs, watched: map[types.NamespacedName]toolscache.SharedInformer{}}, nil
}

// run lets watches start; they all stop when ctx ends.
func (s *webhookSecrets) run(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stop = ctx.Done()
}

// token returns the key "token" of the Secret, waiting (within ctx) for its watch to list it
// the first time it is asked for.
func (s *webhookSecrets) token(ctx context.Context, key types.NamespacedName) ([]byte, error) {
	inf, err := s.informer(key)
	if err != nil {
		return nil, err
	}
	if !toolscache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil, fmt.Errorf("%w: not listed yet", errNoWebhookSecret)
	}
	obj, ok, err := inf.GetStore().GetByKey(key.Namespace + "/" + key.Name)
	if err != nil || !ok {
		return nil, errNoWebhookSecret
	}
	sec, ok := obj.(*corev1.Secret)
	if !ok {
		return nil, errNoWebhookSecret
	}
	return sec.Data[webhookTokenKey], nil
}

func (s *webhookSecrets) informer(key types.NamespacedName) (toolscache.SharedInformer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if inf, ok := s.watched[key]; ok {
		return inf, nil
	}
	if s.stop == nil {
		return nil, fmt.Errorf("%w: the receiver is not running", errNoWebhookSecret)
	}
	lw := toolscache.NewListWatchFromClient(s.client.CoreV1().RESTClient(), "secrets", key.Namespace,
		fields.OneTermEqualSelector("metadata.name", key.Name))
	inf := toolscache.NewSharedInformer(lw, &corev1.Secret{}, 0)
	// Only the token is needed: the rest (other keys, managed fields, the last-applied
	// annotation that repeats the data) is not kept.
	if err := inf.SetTransform(keepToken); err != nil {
		return nil, err
	}
	s.watched[key] = inf
	go inf.Run(s.stop)
	return inf, nil
}

func keepToken(obj any) (any, error) {
	sec, ok := obj.(*corev1.Secret)
	if !ok {
		return obj, nil // a tombstone
	}
	kept := &corev1.Secret{}
	kept.Namespace, kept.Name, kept.ResourceVersion = sec.Namespace, sec.Name, sec.ResourceVersion
	if tok, ok := sec.Data[webhookTokenKey]; ok {
		kept.Data = map[string][]byte{webhookTokenKey: tok}
	}
	return kept, nil
}
