package controllers

import (
	"context"
	"errors"
	"net/http"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// warmCaches starts the informers of Landfall's kinds on every replica, leader or not: a
// standby that takes over starts its controllers on synced caches instead of listing
// everything first, and its webhook receiver reads Repositories from them.
type warmCaches struct {
	cache cache.Cache
}

func (w warmCaches) NeedLeaderElection() bool { return false }

func (w warmCaches) Start(ctx context.Context) error {
	for _, o := range []client.Object{&landfallv1.Repository{}, &landfallv1.Application{}, &landfallv1.Preview{},
		&landfallv1.TenantPolicy{}} {
		if _, err := w.cache.GetInformer(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// cachesSynced is a readiness check: every informer started so far has synced. It waits a
// moment at most, so a probe never hangs on a cache that is still listing.
func cachesSynced(c cache.Cache) func(*http.Request) error {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), time.Second)
		defer cancel()
		if !c.WaitForCacheSync(ctx) {
			return errors.New("the informer caches have not synced")
		}
		return nil
	}
}

// setupReplica adds what every replica runs, leader or not, and the readiness checks that
// say it can serve: caches synced and, when enabled, the webhook receiver listening.
func setupReplica(mgr ctrl.Manager, recv *WebhookReceiver) error {
	if err := mgr.Add(warmCaches{cache: mgr.GetCache()}); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("informers", cachesSynced(mgr.GetCache())); err != nil {
		return err
	}
	if recv == nil {
		return nil
	}
	if err := mgr.Add(recv); err != nil {
		return err
	}
	return mgr.AddReadyzCheck("webhook", recv.Ready)
}
