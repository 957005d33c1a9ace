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

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// errNoWebhookSecret is a webhook Secret that does not exist (yet) or was not listed in time.
var errNoWebhookSecret = errors.New("webhook secret not readable")

// webhookSecrets holds the webhook Secrets Repositories name, so verifying a delivery costs
// no apiserver request. Each one is watched on its own (a field selector on its name) from
// the moment a Repository in the informer cache names it, not from the first delivery: a
// flood of unsigned requests finds the Secret listed already and costs no request. No
// other Secret is listed or held in memory, a rotated token is used as soon as the watch
// brings it, and a watch stops once no Repository names its Secret.
type webhookSecrets struct {
	client kubernetes.Interface

	mu      sync.Mutex
	ctx     context.Context                               // the receiver's lifetime; nil until it starts
	byRepo  map[types.NamespacedName]types.NamespacedName // Repository → its webhook Secret
	watched map[types.NamespacedName]*secretWatch
}

// secretWatch is the watch of one Secret and how many Repositories name it.
type secretWatch struct {
	informer toolscache.SharedInformer
	stop     context.CancelFunc
	repos    int
}

func newWebhookSecrets(cfg *rest.Config) (*webhookSecrets, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the Secret watch client: %w", err)
	}
	return &webhookSecrets{client: cs, byRepo: map[types.NamespacedName]types.NamespacedName{},
		watched: map[types.NamespacedName]*secretWatch{}}, nil
}

// run lets watches start; they all stop when ctx ends.
func (s *webhookSecrets) run(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ctx = ctx
}

// follow keeps, from the Repository informer's events, a watch on each Repository's
// webhook Secret. The handler is removed when ctx ends.
func (s *webhookSecrets) follow(ctx context.Context, inf interface {
	AddEventHandler(toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error)
	RemoveEventHandler(toolscache.ResourceEventHandlerRegistration) error
}) error {
	reg, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.repositoryChanged(obj, false) },
		UpdateFunc: func(_, obj any) { s.repositoryChanged(obj, false) },
		DeleteFunc: func(obj any) { s.repositoryChanged(obj, true) },
	})
	if err != nil {
		return fmt.Errorf("following Repositories' webhook Secrets: %w", err)
	}
	go func() {
		<-ctx.Done()
		_ = inf.RemoveEventHandler(reg)
	}()
	return nil
}

func (s *webhookSecrets) repositoryChanged(obj any, deleted bool) {
	if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	repo, ok := obj.(*landfallv1.Repository)
	if !ok {
		return
	}
	name := ""
	if ref := repo.Spec.WebhookSecretRef; ref != nil && !deleted {
		name = ref.Name
	}
	_, _ = s.use(types.NamespacedName{Namespace: repo.Namespace, Name: repo.Name}, name)
}

// token returns the key "token" of the Repository's webhook Secret, waiting (within ctx)
// for its watch to list it if the Repository is that new.
func (s *webhookSecrets) token(ctx context.Context, repo *landfallv1.Repository) ([]byte, error) {
	if repo.Spec.WebhookSecretRef == nil {
		return nil, errNoWebhookSecret
	}
	inf, err := s.use(types.NamespacedName{Namespace: repo.Namespace, Name: repo.Name}, repo.Spec.WebhookSecretRef.Name)
	if err != nil {
		return nil, err
	}
	if !inf.HasSynced() && !toolscache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil, fmt.Errorf("%w: not listed yet", errNoWebhookSecret)
	}
	obj, ok, err := inf.GetStore().GetByKey(repo.Namespace + "/" + repo.Spec.WebhookSecretRef.Name)
	if err != nil || !ok {
		return nil, errNoWebhookSecret
	}
	sec, ok := obj.(*corev1.Secret)
	if !ok {
		return nil, errNoWebhookSecret
	}
	return sec.Data[webhookTokenKey], nil
}

// use records that the Repository names the Secret secret of its namespace (none when
// empty), starting its watch if it is the first to and stopping the watch of a Secret it
// no longer names if it was the last. It returns the Secret's watch.
func (s *webhookSecrets) use(repo types.NamespacedName, secret string) (toolscache.SharedInformer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := types.NamespacedName{Namespace: repo.Namespace, Name: secret}
	if old, ok := s.byRepo[repo]; ok && old != key {
		delete(s.byRepo, repo)
		if w := s.watched[old]; w != nil {
			if w.repos--; w.repos == 0 {
				w.stop()
				delete(s.watched, old)
			}
		}
	}
	if secret == "" {
		return nil, errNoWebhookSecret
	}
	if s.ctx == nil {
		return nil, fmt.Errorf("%w: the receiver is not running", errNoWebhookSecret)
	}
	w := s.watched[key]
	if w == nil {
		var err error
		if w, err = s.watch(key); err != nil {
			return nil, err
		}
		s.watched[key] = w
	}
	if _, ok := s.byRepo[repo]; !ok {
		s.byRepo[repo] = key
		w.repos++
	}
	return w.informer, nil
}

func (s *webhookSecrets) watch(key types.NamespacedName) (*secretWatch, error) {
	lw := toolscache.NewListWatchFromClient(s.client.CoreV1().RESTClient(), "secrets", key.Namespace,
		fields.OneTermEqualSelector("metadata.name", key.Name))
	inf := toolscache.NewSharedInformer(lw, &corev1.Secret{}, 0)
	// Only the token is needed: the rest (other keys, managed fields, the last-applied
	// annotation that repeats the data) is not kept.
	if err := inf.SetTransform(keepToken); err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(s.ctx)
	go inf.Run(ctx.Done())
	return &secretWatch{informer: inf, stop: stop}, nil
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
