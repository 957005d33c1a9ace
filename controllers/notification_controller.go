package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/notify"
)

func init() { metrics.Registry.MustRegister(notify.Collectors()...) }

// NotificationReconciler turns each Notification into a route of the dispatcher: a selector
// of its namespace's events and a worker per target, with the target's Secret read here.
// Delivery happens in the dispatcher's workers, never in a reconcile; this controller
// shows their counters in the status.
type NotificationReconciler struct {
	client.Client
	// Reader reads Secrets from the apiserver: Landfall keeps no cache of Secrets.
	Reader     client.Reader
	Dispatcher *notify.Dispatcher
	Recorder   recorder.EventRecorder
	// Delivery overrides the targets' delivery defaults (tests shorten backoffs).
	Delivery notify.Options
	// Shards, when set, is the shard group. Every replica routes the events of the
	// Applications it owns, so every replica configures every Notification; only the
	// owner writes its status and Events, with its own counters.
	Shards Ring
}

// reports tells whether this replica writes the Notification's status and Events.
func (r *NotificationReconciler) reports(n *landfallv1.Notification) bool {
	return r.Shards == nil || r.Shards.Owns(shardKeyOf(n))
}

// Reconcile configures one Notification's route and reports its targets.
func (r *NotificationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	n := &landfallv1.Notification{}
	if err := r.Get(ctx, req.NamespacedName, n); err != nil {
		if apierrors.IsNotFound(err) {
			r.Dispatcher.Remove(req.Namespace, req.Name)
			forgetObject("Notification", req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !n.DeletionTimestamp.IsZero() {
		r.Dispatcher.Remove(n.Namespace, n.Name)
		return ctrl.Result{}, nil
	}
	before := n.DeepCopy()
	defer func() {
		if !r.reports(n) {
			return
		}
		retErr = errors.Join(retErr, patchStatusIfChanged(ctx, r.Client, r.Recorder, "Notification", before, n,
			func(n *landfallv1.Notification) any { return n.Status }))
	}()
	if n.Spec.Suspend {
		r.Dispatcher.Remove(n.Namespace, n.Name)
		n.Status.Targets = nil
		markNotReady(n, landfallv1.ReasonSuspended, "notifications are suspended: events are not kept", false)
		return ctrl.Result{}, nil
	}
	match, err := matcher(n)
	if err != nil {
		r.Dispatcher.Remove(n.Namespace, n.Name)
		markNotReady(n, landfallv1.ReasonInvalidSpec, err.Error(), true)
		if r.reports(n) {
			r.Recorder.Eventf(n, nil, corev1.EventTypeWarning, landfallv1.ReasonInvalidSpec, "Validate", "%s", err.Error())
		}
		return ctrl.Result{}, nil
	}
	targets, missing, err := r.targets(ctx, n)
	if err != nil {
		return ctrl.Result{}, err
	}
	r.Dispatcher.Configure(n.Namespace, n.Name, match, targets)
	switch {
	case r.summarize(n, missing):
		return ctrl.Result{RequeueAfter: 3 * time.Second}, nil
	case len(missing) > 0:
		// Secrets are not watched: a missing one is looked for again soon.
		return ctrl.Result{RequeueAfter: 15 * time.Second}, nil
	}
	return ctrl.Result{RequeueAfter: time.Minute}, nil
}

// targets builds the senders from the spec and the Secrets; a target whose Secret is
// missing or incomplete is left out and named in missing (target → why).
func (r *NotificationReconciler) targets(ctx context.Context, n *landfallv1.Notification) ([]notify.TargetConfig, map[string]string, error) {
	var out []notify.TargetConfig
	missing := map[string]string{}
	for _, t := range n.Spec.Targets {
		sec := &corev1.Secret{}
		err := r.Reader.Get(ctx, client.ObjectKey{Namespace: n.Namespace, Name: t.SecretRef.Name}, sec)
		if apierrors.IsNotFound(err) {
			missing[t.Name] = fmt.Sprintf("Secret %s not found", t.SecretRef.Name)
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading Secret %s: %w", t.SecretRef.Name, err)
		}
		sender, err := senderFor(t.Type, sec.Data)
		if err != nil {
			missing[t.Name] = fmt.Sprintf("Secret %s: %s", t.SecretRef.Name, err.Error())
			continue
		}
		opts := r.Delivery
		opts.QueueLimit = int(t.QueueLimit)
		out = append(out, notify.TargetConfig{Name: t.Name, Fingerprint: targetFingerprint(t, sec.Data), Sender: sender, Options: opts})
	}
	return out, missing, nil
}

// senderFor makes the sender of a target type from its Secret's data.
func senderFor(typ landfallv1.NotificationTargetType, data map[string][]byte) (notify.Sender, error) {
	address, token, key := string(data["address"]), string(data["token"]), data["hmacKey"]
	switch typ {
	case landfallv1.TargetGitea, landfallv1.TargetGitHub, landfallv1.TargetGitLab:
		if token == "" {
			return nil, errors.New(`no "token" key`)
		}
		return &notify.Forge{Provider: notify.Provider(typ), APIURL: address, Token: token}, nil
	}
	if address == "" {
		return nil, errors.New(`no "address" key`)
	}
	format := map[landfallv1.NotificationTargetType]notify.Format{landfallv1.TargetWebhook: notify.Generic,
		landfallv1.TargetSlack: notify.Slack, landfallv1.TargetTeams: notify.Teams, landfallv1.TargetDiscord: notify.Discord}[typ]
	if format == "" {
		return nil, fmt.Errorf("unknown target type %q", typ)
	}
	return &notify.Webhook{Address: address, Format: format, Key: key}, nil
}

// targetFingerprint changes when anything a target's worker holds changes: its type, queue bound
// or Secret data (hashed, never kept).
func targetFingerprint(t landfallv1.NotificationTarget, data map[string][]byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00", t.Type, t.QueueLimit)
	for _, k := range []string{"address", "token", "hmacKey"} {
		fmt.Fprintf(h, "%d:%s\x00", len(data[k]), data[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// summarize writes the targets' counters and the conditions, and reports whether anything
// waits or fails (the status is then refreshed sooner).
func (r *NotificationReconciler) summarize(n *landfallv1.Notification, missing map[string]string) bool {
	stats := map[string]notify.Stats{}
	for _, s := range r.Dispatcher.Stats(n.Namespace, n.Name) {
		stats[s.Name] = s.Stats
	}
	var bad []string
	busy := false
	n.Status.Targets = n.Status.Targets[:0]
	for _, t := range n.Spec.Targets {
		if why, ok := missing[t.Name]; ok {
			n.Status.Targets = append(n.Status.Targets, landfallv1.NotificationTargetStatus{Name: t.Name,
				State: landfallv1.TargetNotConfigured, LastError: why})
			bad = append(bad, t.Name+": "+why)
			continue
		}
		s := stats[t.Name]
		ts := landfallv1.NotificationTargetStatus{Name: t.Name, State: landfallv1.NotificationTargetState(s.State),
			Queued: int32(s.Queued), Delivered: s.Delivered, Dropped: s.Dropped, Failed: s.Failed, Duplicates: s.Duplicates,
			LastError: truncate(s.LastError, 512)}
		if !s.LastDelivered.IsZero() {
			ts.LastDelivered = &metav1.Time{Time: s.LastDelivered.Truncate(time.Second)}
		}
		n.Status.Targets = append(n.Status.Targets, ts)
		busy = busy || s.Queued > 0 || s.State != notify.Healthy
		if s.State == notify.Dead {
			bad = append(bad, fmt.Sprintf("%s: dead after %d failures in a row: %s", t.Name, s.ConsecutiveFailures, ts.LastError))
		}
	}
	sort.Strings(bad)
	switch {
	case len(missing) > 0:
		markNotReady(n, landfallv1.ReasonSecretNotFound, strings.Join(bad, "; "), false)
	case len(bad) > 0:
		markNotReady(n, landfallv1.ReasonDeliveryFailed, strings.Join(bad, "; "), false)
	default:
		markReady(n, landfallv1.ReasonSucceeded, fmt.Sprintf("%d targets take events", len(n.Spec.Targets)))
	}
	return busy
}

// matcher is the route's selector: the Notification's namespace, its event kinds, and any
// of its object selectors.
func matcher(n *landfallv1.Notification) (func(notify.Event) bool, error) {
	kinds := map[notify.Kind]bool{}
	for _, k := range n.Spec.Events {
		kinds[notify.Kind(k)] = true
	}
	type sel struct {
		kind, name string
		labels     labels.Selector
		envs       []string
	}
	var sels []sel
	for i, o := range n.Spec.Objects {
		s := sel{kind: o.Kind, name: o.Name, labels: labels.Everything(), envs: o.Environments}
		if o.LabelSelector != nil {
			ls, err := metav1.LabelSelectorAsSelector(o.LabelSelector)
			if err != nil {
				return nil, fmt.Errorf("spec.objects[%d].labelSelector: %w", i, err)
			}
			s.labels = ls
		}
		for _, p := range append([]string{o.Name}, o.Environments...) {
			if _, err := path.Match(p, ""); err != nil {
				return nil, fmt.Errorf("spec.objects[%d]: bad glob %q", i, p)
			}
		}
		sels = append(sels, s)
	}
	ns := n.Namespace
	return func(ev notify.Event) bool {
		if ev.Object.Namespace != ns || (len(kinds) > 0 && !kinds[ev.Kind]) {
			return false
		}
		if len(sels) == 0 {
			return true
		}
		for _, s := range sels {
			if (s.kind == "" || s.kind == ev.Object.Kind) && glob(s.name, ev.Object.Name) &&
				s.labels.Matches(labels.Set(ev.Labels)) && anyGlob(s.envs, ev.Environment) {
				return true
			}
		}
		return false
	}, nil
}

func glob(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	ok, _ := path.Match(pattern, s)
	return ok
}

func anyGlob(patterns []string, env string) bool {
	if len(patterns) == 0 || env == "" {
		return true
	}
	for _, p := range patterns {
		if glob(p, env) {
			return true
		}
	}
	return false
}

// SetupWithManager registers the controller.
func (r *NotificationReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).For(&landfallv1.Notification{}).Named("notification").Complete(r)
}
