package operate

import (
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// involved names an object as an Event does.
type involved struct{ kind, namespace, name string }

// Events lists the Events of the Application and of its inventory's objects, oldest first.
func Events(ctx context.Context, c client.Reader, app *landfallv1.Application, env string) ([]corev1.Event, error) {
	entries, err := Entries(app, env)
	if err != nil {
		return nil, err
	}
	want := map[involved]bool{{"Application", app.Namespace, app.Name}: true}
	namespaces := map[string]bool{app.Namespace: true}
	for _, e := range entries {
		want[involved{e.Kind, e.Namespace, e.Name}] = true
		namespaces[e.Namespace] = true // "" for cluster-scoped objects: their Events are in default
	}
	var events []corev1.Event
	for ns := range namespaces {
		if ns == "" {
			ns = "default"
		}
		list := &corev1.EventList{}
		if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
			return nil, fmt.Errorf("listing Events in %s: %w", ns, err)
		}
		for _, ev := range list.Items {
			io := ev.InvolvedObject
			if want[involved{io.Kind, io.Namespace, io.Name}] {
				events = append(events, ev)
			}
		}
	}
	sort.SliceStable(events, func(i, j int) bool { return EventTime(events[i]).Before(EventTime(events[j])) })
	return events, nil
}

// EventTime is when an Event last happened, whichever API wrote it.
func EventTime(ev corev1.Event) time.Time {
	switch {
	case ev.Series != nil:
		return ev.Series.LastObservedTime.Time
	case !ev.LastTimestamp.IsZero():
		return ev.LastTimestamp.Time
	case !ev.EventTime.IsZero():
		return ev.EventTime.Time
	}
	return ev.CreationTimestamp.Time
}
