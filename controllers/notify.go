package controllers

import (
	"context"
	"maps"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/notify"
	"github.com/landfall-dev/landfall/sync/source"
)

// notifier publishes Landfall's events to the Notifications' routes. Publishing only queues:
// a reconcile never waits on a delivery. A nil notifier publishes nothing.
type notifier struct {
	d *notify.Dispatcher
	// repos reads Repositories from the informer cache, for the URL a forge target reports to.
	repos client.Reader
}

// application publishes an event of one environment of an Application at a revision.
func (n *notifier) application(ctx context.Context, app *landfallv1.Application, env string, kind notify.Kind, revision, msg string) {
	if n == nil {
		return
	}
	ev := notify.Event{Kind: kind, Environment: env, Revision: revision, Message: msg}
	if rev, err := source.ParseRevision(revision); err == nil {
		ev.Commit = rev.Commit
	}
	ev.RepositoryURL = n.repositoryURL(ctx, app.Namespace, app.Spec.RepositoryRef.Name)
	n.publish("Application", app, ev)
}

// repository publishes an event of a Repository.
func (n *notifier) repository(repo *landfallv1.Repository, kind notify.Kind, revision, msg string) {
	if n == nil {
		return
	}
	ev := notify.Event{Kind: kind, Revision: revision, Message: msg, RepositoryURL: repo.Spec.URL}
	if rev, err := source.ParseRevision(revision); err == nil {
		ev.Commit = rev.Commit
	}
	n.publish("Repository", repo, ev)
}

// preview publishes an event of one pull request's preview.
func (n *notifier) preview(p *landfallv1.Preview, url string, kind notify.Kind, e landfallv1.PreviewEntry, msg string) {
	if n == nil {
		return
	}
	ev := notify.Event{Kind: kind, Revision: e.Revision, Message: msg, RepositoryURL: url,
		Preview: &notify.Preview{Number: e.Number, Ref: e.Ref, Namespace: e.Namespace, URL: e.URL, Health: string(e.Health)}}
	if rev, err := source.ParseRevision(e.Revision); err == nil {
		ev.Commit = rev.Commit
	}
	n.publish("Preview", p, ev)
}

func (n *notifier) publish(kind string, obj client.Object, ev notify.Event) {
	ev.Object = notify.Object{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
	ev.Labels = maps.Clone(obj.GetLabels())
	ev.Time = time.Now()
	n.d.Publish(ev)
}

func (n *notifier) repositoryURL(ctx context.Context, namespace, name string) string {
	repo := &landfallv1.Repository{}
	if n.repos == nil || n.repos.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, repo) != nil {
		return ""
	}
	return repo.Spec.URL
}
