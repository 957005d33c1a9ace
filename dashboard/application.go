package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/health"
	"github.com/landfall-dev/landfall/operate"
)

// node is one object of an environment's tree, Depth 0 for what Landfall applied, 1 for
// a Deployment's ReplicaSets, 2 for their Pods.
type node struct {
	Depth                 int
	Kind, Name, Namespace string
	Health, Message       string
}

type historyItem struct {
	Revision, Short, Result, Message, RewoundFrom string
	Subject, Author                               string
	Started                                       time.Time
	Took                                          string
}

type envView struct {
	stage
	Objects   []node
	History   []historyItem
	Analysis  []landfallv1.AnalysisStatus
	Revisions []string // rollback choices, newest first
	Message   string
}

type eventRow struct {
	Type, Reason, Object, Message string
	At                            time.Time
}

type applicationView struct {
	Namespace, Name string
	Row             appRow
	Suspended       bool
	CanAct          bool
	HasDiff         bool
	Envs            []envView
	Events          []eventRow
	EventsError     string
}

// maxEvents is how many recent Events the page shows.
const maxEvents = 30

func (s *Server) applicationPage(w http.ResponseWriter, r *request) {
	app, ok := s.visibleApplication(w, r)
	if !ok {
		return
	}
	v := applicationView{Namespace: app.Namespace, Name: app.Name, Row: newAppRow(app, time.Now()),
		Suspended: app.Spec.Suspend, HasDiff: s.opts.Differ != nil}
	var err error
	if v.CanAct, err = s.auth.may(r.Context(), r.user, Access{Verb: "patch", Resource: "applications", Namespace: app.Namespace, Name: app.Name}); err != nil {
		s.fail(w, r, err)
		return
	}
	for _, st := range v.Row.Stages {
		v.Envs = append(v.Envs, s.environment(r.Context(), app, st))
	}
	events, err := operate.Events(r.Context(), s.opts.Reader, app, "")
	if err != nil {
		v.EventsError = err.Error()
	}
	for i := len(events) - 1; i >= 0 && len(v.Events) < maxEvents; i-- {
		e := events[i]
		v.Events = append(v.Events, eventRow{Type: e.Type, Reason: e.Reason, Message: e.Message,
			Object: e.InvolvedObject.Kind + "/" + e.InvolvedObject.Name, At: operate.EventTime(e)})
	}
	s.renderPage(w, r.Request, http.StatusOK, "application", s.pageFor(r, app.Name, "applications", v))
}

// visibleApplication reads the Application of the path from the cache; one the user
// may not get is answered exactly as one that does not exist.
func (s *Server) visibleApplication(w http.ResponseWriter, r *request) (*landfallv1.Application, bool) {
	key := client.ObjectKey{Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
	ok, err := s.auth.may(r.Context(), r.user, Access{Verb: "get", Resource: "applications", Namespace: key.Namespace, Name: key.Name})
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	app := &landfallv1.Application{}
	if ok {
		err = s.opts.Cache.Get(r.Context(), key, app)
	}
	if !ok || apierrors.IsNotFound(err) {
		s.refuse(w, r, http.StatusNotFound, "Not found", fmt.Sprintf("There is no Application %s that you may see.", key))
		return nil, false
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	return app, true
}

func (s *Server) environment(ctx context.Context, app *landfallv1.Application, st stage) envView {
	ev := envView{stage: st}
	status := operate.EnvironmentStatus(app, st.Name)
	ev.Message = status.Message
	if status.Rollout != nil {
		ev.Analysis = status.Rollout.Analysis
	}
	history := slices.Clone(app.Status.History)
	sort.SliceStable(history, func(i, j int) bool { return history[j].StartedAt.Before(&history[i].StartedAt) })
	for _, h := range history { // newest first
		if h.Environment != st.Name {
			continue
		}
		item := historyItem{Revision: h.Revision, Short: shortCommit(h.Revision), Result: string(h.Result),
			Message: h.Message, RewoundFrom: h.RewoundFrom, Started: h.StartedAt.Time}
		if h.Commit != nil {
			item.Subject, item.Author = h.Commit.Subject, h.Commit.Author
		}
		if h.FinishedAt != nil {
			item.Took = h.FinishedAt.Sub(h.StartedAt.Time).Round(time.Second).String()
		}
		ev.History = append(ev.History, item)
		if h.Revision != status.Revision && !slices.Contains(ev.Revisions, h.Revision) {
			ev.Revisions = append(ev.Revisions, h.Revision)
		}
	}
	ev.Objects = s.tree(ctx, app, st.Name)
	return ev
}

// maxChildren bounds the ReplicaSets and Pods read per namespace for the trees.
const maxChildren = 2000

// tree reads the environment's objects (its inventory) and, under each Deployment, its
// ReplicaSets and their Pods, each with its health.
func (s *Server) tree(ctx context.Context, app *landfallv1.Application, env string) []node {
	entries, err := operate.Entries(app, env)
	if err != nil {
		return nil // not deployed yet: no objects
	}
	var out []node
	children := map[string]*childIndex{}
	for _, e := range entries {
		obj := operate.EmptyObject(e)
		n := node{Kind: e.Kind, Name: e.Name, Namespace: e.Namespace}
		switch err := s.opts.Reader.Get(ctx, client.ObjectKeyFromObject(obj), obj); {
		case apierrors.IsNotFound(err):
			n.Health, n.Message = string(health.Unknown), "missing: not in the cluster"
		case err != nil:
			// The page still shows the rest: the dashboard may lack a right the
			// Application's own ServiceAccount has.
			n.Health, n.Message = string(health.Unknown), "not readable: "+err.Error()
		default:
			h := health.Of(obj)
			n.Health, n.Message = string(h.Status), h.Message
		}
		out = append(out, n)
		if e.Kind == "Deployment" && e.Group == "apps" && obj.GetUID() != "" {
			idx, seen := children[e.Namespace]
			if !seen {
				idx, _ = s.children(ctx, e.Namespace) // nil when not readable: no children shown
				children[e.Namespace] = idx
			}
			if idx != nil {
				out = append(out, idx.under(obj.GetUID())...)
			}
		}
	}
	return out
}

// childIndex holds a namespace's ReplicaSets and Pods by the UID of their owner.
type childIndex struct {
	replicaSets map[types.UID][]*unstructured.Unstructured
	pods        map[types.UID][]corev1.Pod
}

func (s *Server) children(ctx context.Context, ns string) (*childIndex, error) {
	idx := &childIndex{replicaSets: map[types.UID][]*unstructured.Unstructured{}, pods: map[types.UID][]corev1.Pod{}}
	rs := &unstructured.UnstructuredList{}
	rs.SetAPIVersion("apps/v1")
	rs.SetKind("ReplicaSetList")
	if err := s.opts.Reader.List(ctx, rs, client.InNamespace(ns), client.Limit(maxChildren)); err != nil {
		return nil, fmt.Errorf("listing ReplicaSets in %s: %w", ns, err)
	}
	for i := range rs.Items {
		for _, o := range rs.Items[i].GetOwnerReferences() {
			idx.replicaSets[o.UID] = append(idx.replicaSets[o.UID], &rs.Items[i])
		}
	}
	pods := &corev1.PodList{}
	if err := s.opts.Reader.List(ctx, pods, client.InNamespace(ns), client.Limit(maxChildren)); err != nil {
		return nil, fmt.Errorf("listing Pods in %s: %w", ns, err)
	}
	for _, p := range pods.Items {
		for _, o := range p.OwnerReferences {
			idx.pods[o.UID] = append(idx.pods[o.UID], p)
		}
	}
	return idx, nil
}

// under lists a Deployment's ReplicaSets that have replicas (newest first) and their Pods.
func (c *childIndex) under(uid types.UID) []node {
	sets := c.replicaSets[uid]
	sort.Slice(sets, func(i, j int) bool {
		ti, tj := sets[i].GetCreationTimestamp(), sets[j].GetCreationTimestamp()
		return tj.Before(&ti)
	})
	var out []node
	for _, rs := range sets {
		replicas, _, _ := unstructured.NestedInt64(rs.Object, "spec", "replicas")
		if replicas == 0 && len(c.pods[rs.GetUID()]) == 0 {
			continue // an old ReplicaSet kept for history
		}
		h := health.Of(rs)
		out = append(out, node{Depth: 1, Kind: "ReplicaSet", Name: rs.GetName(), Namespace: rs.GetNamespace(),
			Health: string(h.Status), Message: h.Message})
		for i := range c.pods[rs.GetUID()] {
			p := &c.pods[rs.GetUID()][i]
			out = append(out, node{Depth: 2, Kind: "Pod", Name: p.Name, Namespace: p.Namespace,
				Health: podHealth(p), Message: podMessage(p)})
		}
	}
	return out
}

func podHealth(p *corev1.Pod) string {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return string(health.Healthy)
		}
	}
	if p.Status.Phase == corev1.PodFailed {
		return string(health.Degraded)
	}
	return string(health.Progressing)
}

func podMessage(p *corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			return w.Reason + ": " + w.Message
		}
	}
	return string(p.Status.Phase)
}

type diffView struct {
	Namespace, Name, Env string
	Diffs                []ObjectDiff
	Error                string
}

// diffPage renders the environment's live-vs-Git diff on request (it renders the
// Application's source, so it is never part of a live update).
func (s *Server) diffPage(w http.ResponseWriter, r *request) {
	app, ok := s.visibleApplication(w, r)
	if !ok {
		return
	}
	if s.opts.Differ == nil {
		http.Error(w, "this dashboard serves no diffs", http.StatusNotFound)
		return
	}
	v := diffView{Namespace: app.Namespace, Name: app.Name, Env: r.URL.Query().Get("env")}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	diffs, err := s.opts.Differ.Diff(ctx, app, v.Env)
	v.Diffs = diffs
	if err != nil {
		v.Error = err.Error()
	}
	s.renderPage(w, r.Request, http.StatusOK, "diff", s.pageFor(r, "Diff of "+app.Name, "applications", v))
}
