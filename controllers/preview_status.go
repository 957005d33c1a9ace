package controllers

import (
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/notify"
)

// previewGauge counts each Preview's pull requests by state.
var previewGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "landfall_previews",
	Help: "Pull requests of each Preview by state (Running, Waiting, Expired, Closed); deleted with the Preview.",
}, []string{"namespace", "name", "state"})

func init() { metrics.Registry.MustRegister(previewGauge) }

func recordPreviews(p *landfallv1.Preview) {
	counts := map[landfallv1.PreviewState]int{}
	for _, e := range p.Status.Previews {
		counts[e.State]++
	}
	for _, s := range []landfallv1.PreviewState{landfallv1.PreviewRunning, landfallv1.PreviewWaiting,
		landfallv1.PreviewExpired, landfallv1.PreviewClosed} {
		previewGauge.WithLabelValues(p.Namespace, p.Name, string(s)).Set(float64(counts[s]))
	}
}

func forgetPreview(namespace, name string) {
	previewGauge.DeletePartialMatch(prometheus.Labels{"namespace": namespace, "name": name})
}

// countStates returns how many previews run and wait.
func countStates(entries []landfallv1.PreviewEntry) (running, waiting int32) {
	for _, e := range entries {
		switch e.State {
		case landfallv1.PreviewRunning:
			running++
		case landfallv1.PreviewWaiting:
			waiting++
		}
	}
	return running, waiting
}

// summarizePreview sets Ready: False naming the first preview the user must fix (a pull
// request whose manifests reach outside its namespace, a namespace someone else holds), else
// True with the counts. A broken pull request does not stall the Preview: the others run.
func summarizePreview(p *landfallv1.Preview, failures []previewFailure) {
	if len(failures) > 0 {
		msg := failures[0].message
		if len(failures) > 1 {
			msg = fmt.Sprintf("%s (and %d more failing)", msg, len(failures)-1)
		}
		markNotReady(p, failures[0].reason, msg, false)
		return
	}
	msg := fmt.Sprintf("%d running, %d waiting", p.Status.Running, p.Status.Waiting)
	markReady(p, landfallv1.ReasonSucceeded, msg)
}

// notifyPreviews publishes PreviewUp for a preview that starts running, PreviewUpdated when
// a running one moves to a new commit or its health or URL changes, and PreviewRemoved when
// one stops running (closed, expired, its ref gone).
func (r *PreviewReconciler) notifyPreviews(p *landfallv1.Preview, url string, prev, next []landfallv1.PreviewEntry) {
	old := map[string]landfallv1.PreviewEntry{}
	for _, e := range prev {
		old[e.Ref] = e
	}
	for _, e := range next {
		o, seen := old[e.Ref]
		delete(old, e.Ref)
		wasUp := seen && o.State == landfallv1.PreviewRunning
		switch {
		case e.State == landfallv1.PreviewRunning && !wasUp:
			r.Notify.preview(p, url, notify.PreviewUp, e, fmt.Sprintf("%s is up in namespace %s", e.Ref, e.Namespace))
		case e.State == landfallv1.PreviewRunning && (o.Revision != e.Revision || o.Health != e.Health || o.URL != e.URL):
			r.Notify.preview(p, url, notify.PreviewUpdated, e, fmt.Sprintf("%s at %s is %s", e.Ref, e.Revision, e.Health))
		case e.State != landfallv1.PreviewRunning && wasUp:
			gone, why := e, e.Message
			gone.Namespace = o.Namespace
			if why == "" {
				why = string(e.State)
			}
			r.Notify.preview(p, url, notify.PreviewRemoved, gone, e.Ref+": "+why)
		}
	}
	for _, o := range old {
		if o.State == landfallv1.PreviewRunning {
			r.Notify.preview(p, url, notify.PreviewRemoved, o, o.Ref+" is gone")
		}
	}
}

// announce emits an Event for every preview that started, changed state, moved to a new
// commit or went away with its ref.
func (r *PreviewReconciler) announce(p *landfallv1.Preview, prev, next []landfallv1.PreviewEntry) {
	old := map[string]landfallv1.PreviewEntry{}
	for _, e := range prev {
		old[e.Ref] = e
	}
	for _, e := range next {
		o, seen := old[e.Ref]
		delete(old, e.Ref)
		switch {
		case seen && o.State == e.State && (e.State != landfallv1.PreviewRunning || o.Revision == e.Revision):
		case e.State == landfallv1.PreviewRunning && seen && o.State == e.State:
			r.Recorder.Eventf(p, nil, corev1.EventTypeNormal, "PreviewUpdated", "Preview", "%s: now at %s", e.Ref, e.Revision)
		case e.State == landfallv1.PreviewRunning:
			r.Recorder.Eventf(p, nil, corev1.EventTypeNormal, "PreviewStarted", "Preview", "%s at %s: application %s in namespace %s",
				e.Ref, e.Revision, e.Application, e.Namespace)
		default:
			r.Recorder.Eventf(p, nil, corev1.EventTypeNormal, "Preview"+string(e.State), "Preview", "%s: %s", e.Ref, e.Message)
		}
	}
	var gone []string
	for ref := range old {
		gone = append(gone, ref)
	}
	if len(gone) > 0 {
		r.Recorder.Eventf(p, nil, corev1.EventTypeNormal, "PreviewDeleted", "Preview", "the refs are gone, their previews are deleted: %s",
			strings.Join(gone, ", "))
	}
}
