package dashboard

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// User is who a request acts for, as the apiserver's TokenReview named them.
type User struct {
	Name   string
	UID    string
	Groups []string
	Extra  map[string][]string
}

// errUnauthenticated: the token is not one the apiserver accepts (forged, expired, revoked).
var errUnauthenticated = errors.New("the apiserver does not accept this token")

// Authenticator turns a bearer token into a User, or errUnauthenticated.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (*User, error)
}

// Authorizer answers whether user may do verb on a Landfall resource ("applications",
// "repositories", "previews"); name "": all of them in namespace; namespace "": in every
// namespace.
type Authorizer interface {
	Allowed(ctx context.Context, user *User, a Access) (bool, error)
}

// Access is one question to an Authorizer.
type Access struct{ Verb, Resource, Namespace, Name string }

// TokenReviewer authenticates bearer tokens with the apiserver's TokenReview: whatever
// the cluster accepts (ServiceAccount tokens, OIDC, webhook) works, and a forged or
// expired one is refused by the same authority that would refuse it at kubectl.
type TokenReviewer struct {
	Client client.Client
	// Audiences, when set, are the audiences the token must be valid for.
	Audiences []string
}

func (t TokenReviewer) Authenticate(ctx context.Context, token string) (*User, error) {
	review := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: t.Audiences}}
	if err := t.Client.Create(ctx, review); err != nil {
		return nil, fmt.Errorf("reviewing the token: %w", err)
	}
	if !review.Status.Authenticated {
		return nil, errUnauthenticated
	}
	u := review.Status.User
	extra := map[string][]string{}
	for k, v := range u.Extra {
		extra[k] = v
	}
	return &User{Name: u.Username, UID: u.UID, Groups: u.Groups, Extra: extra}, nil
}

// SubjectAccessReviewer asks the apiserver whether a user may act on an Application:
// the dashboard shows and does only what the user's own RBAC allows.
type SubjectAccessReviewer struct{ Client client.Client }

func (s SubjectAccessReviewer) Allowed(ctx context.Context, u *User, a Access) (bool, error) {
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range u.Extra {
		extra[k] = v
	}
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: u.Name, UID: u.UID, Groups: u.Groups, Extra: extra,
		ResourceAttributes: attributes(a),
	}}
	if err := s.Client.Create(ctx, review); err != nil {
		return false, fmt.Errorf("reviewing access: %w", err)
	}
	return review.Status.Allowed, nil
}

// SelfAccessReviewer asks for the client's own identity: `landfall dashboard` acts as
// the kubeconfig's user, whoever opens the page on localhost with its key.
type SelfAccessReviewer struct{ Client client.Client }

func (s SelfAccessReviewer) Allowed(ctx context.Context, _ *User, a Access) (bool, error) {
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: attributes(a),
	}}
	if err := s.Client.Create(ctx, review); err != nil {
		return false, fmt.Errorf("reviewing access: %w", err)
	}
	return review.Status.Allowed, nil
}

func attributes(a Access) *authorizationv1.ResourceAttributes {
	return &authorizationv1.ResourceAttributes{Group: "landfall.dev", Resource: a.Resource,
		Verb: a.Verb, Namespace: a.Namespace, Name: a.Name}
}

// cachedAuth remembers answers for a short time, so a page of 1,000 Applications or a
// burst of live updates does not cost the apiserver one review each; a revoked right or
// token stops working within ttl.
type cachedAuth struct {
	authn   Authenticator
	authz   Authorizer
	users   *ttlCache[*User]
	answers *ttlCache[bool]
}

func newCachedAuth(authn Authenticator, authz Authorizer, ttl time.Duration) *cachedAuth {
	return &cachedAuth{authn: authn, authz: authz, users: newTTLCache[*User](ttl), answers: newTTLCache[bool](ttl)}
}

// Authenticate caches only tokens the apiserver accepted, by their hash.
func (c *cachedAuth) Authenticate(ctx context.Context, token string) (*User, error) {
	sum := sha256.Sum256([]byte(token))
	k := hex.EncodeToString(sum[:])
	if u, ok := c.users.get(k); ok {
		return u, nil
	}
	u, err := c.authn.Authenticate(ctx, token)
	if err != nil {
		return nil, err
	}
	c.users.put(k, u)
	return u, nil
}

func (c *cachedAuth) Allowed(ctx context.Context, u *User, a Access) (bool, error) {
	groups := slices.Clone(u.Groups)
	slices.Sort(groups)
	k := strings.Join([]string{u.Name, u.UID, strings.Join(groups, ","), a.Verb, a.Resource, a.Namespace, a.Name}, "\x00")
	if allowed, ok := c.answers.get(k); ok {
		return allowed, nil
	}
	allowed, err := c.authz.Allowed(ctx, u, a)
	if err != nil {
		return false, err
	}
	c.answers.put(k, allowed)
	return allowed, nil
}

// maxCached bounds each cache; past it the cache is emptied (answers are cheap to ask again).
const maxCached = 50000

// ttlCache keeps values for ttl, at most maxCached of them.
type ttlCache[V any] struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	value   V
	expires time.Time
}

func newTTLCache[V any](ttl time.Duration) *ttlCache[V] {
	return &ttlCache[V]{ttl: ttl, now: time.Now, entries: map[string]ttlEntry[V]{}}
}

func (c *ttlCache[V]) get(k string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || !c.now().Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.value, true
}

func (c *ttlCache[V]) put(k string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCached {
		clear(c.entries)
	}
	c.entries[k] = ttlEntry[V]{value: v, expires: c.now().Add(c.ttl)}
}

// may answers for one Application: a right over every namespace, or over its namespace,
// is asked first, so that a user with a namespace-wide role costs one review per
// namespace, not one per Application.
func (c *cachedAuth) may(ctx context.Context, u *User, a Access) (bool, error) {
	for _, scope := range [][2]string{{"", ""}, {a.Namespace, ""}, {a.Namespace, a.Name}} {
		ok, err := c.Allowed(ctx, u, Access{Verb: a.Verb, Resource: a.Resource, Namespace: scope[0], Name: scope[1]})
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// KeyAuthenticator accepts one key, as the identity User: `landfall dashboard` signs the
// browser it opens on localhost in with a random key, and acts with the kubeconfig's
// credentials (whose rights SelfAccessReviewer checks).
type KeyAuthenticator struct {
	Key  string
	User User
}

func (k KeyAuthenticator) Authenticate(_ context.Context, token string) (*User, error) {
	if k.Key == "" || subtle.ConstantTimeCompare([]byte(k.Key), []byte(token)) != 1 {
		return nil, errUnauthenticated
	}
	u := k.User
	return &u, nil
}

// NewLoginKey is a random key for KeyAuthenticator and Options.LoginKey.
func NewLoginKey() string { return randomToken() }
