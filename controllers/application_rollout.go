package controllers

import (
	"context"
	"fmt"
	"strings"
	"text/template"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/landfall-dev/landfall/health"
	"github.com/landfall-dev/landfall/health/analysis"
	"github.com/landfall-dev/landfall/sync/inventory"
	"github.com/landfall-dev/landfall/sync/rollout"
)

// policyOf translates an environment's rollout spec for the planner. Without a rollout
// spec a revision rolls in whole, gated by health for five minutes, and rolls back by
// itself: safe by default.
func policyOf(app *landfallv1.Application, env *landfallv1.Environment) rollout.Policy {
	p := rollout.Policy{Strategy: rollout.Rolling, HealthTimeout: rollout.DefaultHealthTimeout, AutoRollback: true}
	if env.BakeTime != nil {
		p.BakeTime = env.BakeTime.Duration
	}
	spec := rolloutOf(app, env)
	if spec == nil {
		return p
	}
	if spec.Strategy == landfallv1.RolloutCanary {
		p.Strategy = rollout.Canary
		for _, s := range spec.Steps {
			step := rollout.Step{Weight: s.Weight, RequireApproval: s.RequireApproval}
			if s.Pause != nil {
				step.Pause = s.Pause.Duration
			}
			p.Steps = append(p.Steps, step)
		}
	}
	if spec.HealthTimeout != nil && spec.HealthTimeout.Duration > 0 {
		p.HealthTimeout = spec.HealthTimeout.Duration
	}
	if spec.AutoRollback != nil {
		p.AutoRollback = *spec.AutoRollback
	}
	return p
}

// rolloutOf is an environment's rollout spec: its own, else the Application's.
func rolloutOf(app *landfallv1.Application, env *landfallv1.Environment) *landfallv1.RolloutSpec {
	if env.Rollout != nil {
		return env.Rollout
	}
	return app.Spec.Rollout
}

// progressOf reads the planner's progress from an environment's status.
func progressOf(st *landfallv1.EnvironmentStatus) rollout.Progress {
	p := rollout.Progress{LastHealthyRevision: st.LastHealthyRevision, FailedRevisions: st.FailedRevisions}
	if r := st.Rollout; r != nil {
		p.Revision, p.Stable, p.Step, p.Weight, p.Phase = r.Revision, r.Stable, int(r.Step), r.Weight, rollout.Phase(r.Phase)
		p.StepStartedAt, p.HealthySince = timeOf(r.StepStartedAt), timeOf(r.HealthySince)
	}
	return p
}

// recordProgress writes the planner's progress into an environment's status. The analysis
// counts start over with every new step or revision.
func recordProgress(st *landfallv1.EnvironmentStatus, p rollout.Progress, msg string) {
	old := st.Rollout
	if old == nil {
		old = &landfallv1.RolloutStatus{}
	}
	next := &landfallv1.RolloutStatus{
		Revision: p.Revision, Stable: p.Stable, Step: int32(p.Step), Weight: p.Weight,
		Phase: landfallv1.RolloutPhase(p.Phase), StepStartedAt: metaTime(p.StepStartedAt),
		HealthySince: metaTime(p.HealthySince), StartedAt: old.StartedAt, Message: msg,
	}
	if old.Revision == p.Revision && old.Step == int32(p.Step) {
		next.Analysis = old.Analysis
	}
	if old.Revision != p.Revision || next.StartedAt == nil {
		next.StartedAt = metaTime(p.StepStartedAt)
	}
	st.Rollout = next
	st.LastHealthyRevision, st.FailedRevisions = p.LastHealthyRevision, p.FailedRevisions
}

func timeOf(t *metav1.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

func metaTime(t time.Time) *metav1.Time {
	if t.IsZero() {
		return nil
	}
	m := metav1.NewTime(t)
	return &m
}

// observeHealth reads the live objects of the environment's inventory and returns the
// worst health among them, each judged by the Application's health rules where one names
// its kind.
func (r *ApplicationReconciler) observeHealth(ctx context.Context, dest *destination, key envKey, st *landfallv1.EnvironmentStatus, rules *health.Rules) health.Result {
	inv, err := decodeInventory(st)
	if err != nil || inv.Len() == 0 {
		return health.Result{Status: health.Unknown, Message: "nothing applied yet"}
	}
	ids := inv.IDs()
	var objs []health.ObjectHealth
	for _, e := range inv.Entries() {
		oh := health.ObjectHealth{Group: e.Group, Kind: e.Kind, Namespace: e.Namespace, Name: e.Name}
		oh.Result = r.objectHealth(ctx, dest, key, ids, e, rules)
		objs = append(objs, oh)
	}
	return health.Aggregate(objs)
}

// objectHealth judges one object of the inventory. The drift informers hold the metadata
// of every managed object: a kind without status is judged from it, and an object whose
// resourceVersion has not moved since it was last judged keeps its health. Only an object
// that changed (a Deployment's pods turning ready) is read, so a status change of one
// object reads that one. A Progressing Deployment is read each time: its new pods, which
// decide whether it is failing, change without it.
func (r *ApplicationReconciler) objectHealth(ctx context.Context, dest *destination, key envKey,
	ids []inventory.ObjMetadata, e inventory.Entry, rules *health.Rules) health.Result {
	// A kind with a health rule is judged by it, read afresh: neither the statusless
	// shortcut nor a reading cached under other rules applies.
	if r.Watcher != nil && !rules.Has(e.GroupKind()) {
		if m, exists, ok := r.Watcher.cached(dest, e.GroupVersionKind(), e.Namespace, e.Name); ok && exists {
			if m.DeletionTimestamp != nil {
				return health.Result{Status: health.Progressing, Message: "being deleted"}
			}
			if health.Statusless(e.GroupKind()) {
				return health.Result{Status: health.Healthy}
			}
			if res, ok := r.Drift.judgedHealth(key, e.ObjMetadata, dest.key, m.ResourceVersion); ok {
				return res
			}
		}
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(e.GroupVersionKind())
	if err := dest.client.Get(ctx, objectKey(e.Namespace, e.Name), u); err != nil {
		return health.Result{Status: health.Unknown, Message: "cannot read it: " + err.Error()}
	}
	res := rules.Of(u)
	if rules.Has(e.GroupKind()) {
		return res
	}
	if res.Status == health.Progressing && e.Group == "apps" && e.Kind == "Deployment" {
		if failing, ok := failingNewPods(ctx, dest.client, u); ok {
			res = failing
		}
		return res
	}
	r.Drift.judge(key, ids, e.ObjMetadata, judged{dest: dest.key, resourceVersion: u.GetResourceVersion(), result: res})
	return res
}

// analyze measures the metrics that are due and returns the overall verdict of the step.
func (r *ApplicationReconciler) analyze(ctx context.Context, app *landfallv1.Application, env *landfallv1.Environment,
	st *landfallv1.EnvironmentStatus, now time.Time) rollout.Verdict {
	spec := rolloutOf(app, env)
	if !analyzing(spec, st) {
		return rollout.VerdictNone
	}
	var metrics []analysis.Metric
	var states []analysis.State
	for _, a := range spec.Analysis {
		m := metricOf(a)
		s := analysisStateOf(st.Rollout.Analysis, a.Name)
		if due, _ := s.Due(m, now); due {
			m.Query, _ = expandQuery(a.Prometheus.Query, app, env) // checked before planning
			s = r.measure(ctx, a, m, s, now)
		}
		metrics, states = append(metrics, m), append(states, s)
	}
	st.Rollout.Analysis = statusOf(states)
	return rollout.Verdict(analysis.Overall(metrics, states))
}

// queryVars are what an analysis query may name: {{ .Namespace }} and the like.
type queryVars struct{ Namespace, Environment, Application string }

// expandQuery fills an analysis query's variables in for env. Only the fields of
// queryVars exist; anything else is an error the user must fix.
func expandQuery(query string, app *landfallv1.Application, env *landfallv1.Environment) (string, error) {
	if !strings.Contains(query, "{{") {
		return query, nil
	}
	tpl, err := template.New("query").Option("missingkey=error").Parse(query)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	err = tpl.Execute(&b, queryVars{Namespace: env.Namespace, Environment: env.Name, Application: app.Name})
	return b.String(), err
}

// checkQueries refuses an environment whose analysis queries do not expand.
func checkQueries(app *landfallv1.Application, env *landfallv1.Environment) error {
	spec := rolloutOf(app, env)
	if spec == nil {
		return nil
	}
	for _, a := range spec.Analysis {
		if _, err := expandQuery(a.Prometheus.Query, app, env); err != nil {
			return fmt.Errorf("analysis %s of environment %s: the query's variables are {{ .Namespace }}, "+
				"{{ .Environment }} and {{ .Application }}: %w", a.Name, env.Name, err)
		}
	}
	return nil
}

// analyzing reports whether the environment's rollout is in a phase that analysis gates.
func analyzing(spec *landfallv1.RolloutSpec, st *landfallv1.EnvironmentStatus) bool {
	if spec == nil || len(spec.Analysis) == 0 || st.Rollout == nil {
		return false
	}
	phase := st.Rollout.Phase
	return phase == landfallv1.RolloutPaused || phase == landfallv1.RolloutAnalyzing || phase == landfallv1.RolloutProgressing
}

// nextMeasurement is when the first analysis metric is due again, or zero when analysis
// gates nothing now. A step waiting for a conclusive analysis changes nothing in the
// cluster, so no watch event brings the Application back: without this bound the next
// measurement would wait for the end of the step's wait, not for the metric's interval.
func nextMeasurement(spec *landfallv1.RolloutSpec, st *landfallv1.EnvironmentStatus, now time.Time) time.Time {
	if !analyzing(spec, st) {
		return time.Time{}
	}
	var next time.Time
	for _, a := range spec.Analysis {
		_, due := analysisStateOf(st.Rollout.Analysis, a.Name).Due(metricOf(a), now)
		if next.IsZero() || due.Before(next) {
			next = due
		}
	}
	return next
}

func (r *ApplicationReconciler) measure(ctx context.Context, spec landfallv1.AnalysisMetric, m analysis.Metric, s analysis.State, now time.Time) analysis.State {
	p, err := analysis.NewPrometheus(spec.Prometheus.Address, nil)
	if err != nil {
		return analysis.Assess(m, s, 0, fmt.Errorf("prometheus %s: %w", spec.Prometheus.Address, err), now)
	}
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return analysis.Measure(qctx, p, m, s, now)
}

func metricOf(spec landfallv1.AnalysisMetric) analysis.Metric {
	m := analysis.Metric{Name: spec.Name, Query: spec.Prometheus.Query, Min: spec.Min, Max: spec.Max,
		FailureLimit: spec.FailureLimit, InconclusiveLimit: spec.InconclusiveLimit}
	if spec.Interval != nil {
		m.Interval = spec.Interval.Duration
	}
	return m
}

func analysisStateOf(recorded []landfallv1.AnalysisStatus, name string) analysis.State {
	for _, a := range recorded {
		if a.Name == name {
			return analysis.State{Name: a.Name, Successes: a.Successes, Failures: a.Failures, Inconclusive: a.Inconclusive,
				ConsecutiveFailures: a.ConsecutiveFailures, ConsecutiveInconclusive: a.ConsecutiveInconclusive,
				LastValue: a.LastValue, LastMeasuredAt: timeOf(a.LastMeasuredAt)}
		}
	}
	return analysis.State{Name: name}
}

func statusOf(states []analysis.State) []landfallv1.AnalysisStatus {
	out := make([]landfallv1.AnalysisStatus, 0, len(states))
	for _, s := range states {
		out = append(out, landfallv1.AnalysisStatus{Name: s.Name, Successes: s.Successes, Failures: s.Failures,
			Inconclusive: s.Inconclusive, ConsecutiveFailures: s.ConsecutiveFailures,
			ConsecutiveInconclusive: s.ConsecutiveInconclusive, LastValue: s.LastValue, LastMeasuredAt: metaTime(s.LastMeasuredAt)})
	}
	return out
}

// maxHistoryMessage bounds each history entry's message, as conditions' are: a failure
// quotes health messages, which quote objects' status, and MaxHistory of those must stay
// well under the apiserver's request limit beside a large inventory.
const maxHistoryMessage = 1024

// setHistory records the outcome of a revision in an environment: it updates the newest
// entry of that revision and environment, or adds one.
func setHistory(app *landfallv1.Application, revision string, commit *landfallv1.CommitInfo, env string,
	result landfallv1.HistoryResult, msg string, now time.Time) {
	at := metav1.NewTime(now)
	msg = truncate(msg, maxHistoryMessage)
	for i := range app.Status.History {
		h := &app.Status.History[i]
		if h.Environment != env {
			continue
		}
		if h.Revision == revision {
			h.Result, h.Message = result, msg
			if h.Commit == nil {
				h.Commit = commit
			}
			if result != landfallv1.ResultProgressing {
				h.FinishedAt = &at
			}
			return
		}
		if h.Result == landfallv1.ResultProgressing { // a newer revision took over
			h.Result, h.FinishedAt = landfallv1.ResultSuperseded, &at
		}
		break
	}
	entry := landfallv1.HistoryEntry{Revision: revision, Commit: commit, Environment: env, StartedAt: at, Result: result, Message: msg}
	if result != landfallv1.ResultProgressing {
		entry.FinishedAt = &at
	}
	app.Status.History = append([]landfallv1.HistoryEntry{entry}, app.Status.History...)
	if len(app.Status.History) > landfallv1.MaxHistory {
		app.Status.History = app.Status.History[:landfallv1.MaxHistory]
	}
}

// commitOf is the subject and author of revision when known: from the Repository's
// checkout in hand, else from an environment or history entry that recorded them (a
// rollback renders a stored revision without a checkout).
func (s *envSync) commitOf(revision string) *landfallv1.CommitInfo {
	if s.co != nil && s.co.Revision.String() == revision {
		if c := commitInfo(s.co); c != nil {
			return c
		}
	}
	for _, st := range s.app.Status.Environments {
		if st.Revision == revision && st.Commit != nil {
			return st.Commit.DeepCopy()
		}
	}
	for _, h := range s.app.Status.History {
		if h.Revision == revision && h.Commit != nil {
			return h.Commit.DeepCopy()
		}
	}
	return nil
}

func objectKey(namespace, name string) client.ObjectKey {
	return client.ObjectKey{Namespace: namespace, Name: name}
}
