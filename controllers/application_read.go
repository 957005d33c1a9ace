package controllers

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/types"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// versions remembers, per Application, the newest resourceVersion this process knows of:
// the one it last wrote, or last read from the apiserver. The informer cache serves an
// Application once it holds that version, so a wake-up of an Application nothing else
// changed costs no request, and a step is never decided on a status older than the one
// this process just wrote (it would be taken twice).
type versions struct {
	mu sync.Mutex
	rv map[types.NamespacedName]string
}

func (v *versions) known(key types.NamespacedName) (string, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	rv, ok := v.rv[key]
	return rv, ok
}

func (v *versions) note(app *landfallv1.Application) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.rv == nil {
		v.rv = map[types.NamespacedName]string{}
	}
	v.rv[types.NamespacedName{Namespace: app.Namespace, Name: app.Name}] = app.ResourceVersion
}

func (v *versions) forget(key types.NamespacedName) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.rv, key)
}

// readApplication returns the Application from the informer cache when the cache holds the
// newest version known, else from the apiserver: the first read after a start or a
// takeover (another replica may have written last), after someone else changed it, or
// while the cache has not caught up with this process's own write.
func (r *ApplicationReconciler) readApplication(ctx context.Context, key types.NamespacedName) (*landfallv1.Application, error) {
	if rv, ok := r.versions.known(key); ok {
		app := &landfallv1.Application{}
		if err := r.Get(ctx, key, app); err == nil && app.ResourceVersion == rv {
			return app, nil
		}
	}
	app := &landfallv1.Application{}
	if err := r.Secrets.Get(ctx, key, app); err != nil {
		r.versions.forget(key)
		return nil, err
	}
	r.versions.note(app)
	return app, nil
}
