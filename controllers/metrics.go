package controllers

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/render"
	"github.com/landfall-dev/landfall/sync/source"
)

// Landfall's domain metrics, registered with controller-runtime's registry so /metrics
// serves them next to the reconcile histograms controller-runtime keeps per controller.
var (
	fetchDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "landfall_git_operation_duration_seconds",
		Help:    "Duration of Git operations: remote checks and fetches.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"operation"})
	fetchErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "landfall_git_errors_total",
		Help: "Failed Git operations by reason.",
	}, []string{"reason"})
	webhookRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "landfall_webhook_requests_total",
		Help: "Webhook requests by provider and HTTP status code.",
	}, []string{"provider", "code"})
	webhookRateLimited = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "landfall_webhook_rate_limited_total",
		Help: "Webhook requests answered 429 before being read: their source was refused too often.",
	})
	webhookRefusingSources = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "landfall_webhook_refused_sources",
		Help: "Sources the webhook receiver remembers for their refused requests (bounded).",
	})
	checkoutVerifyFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "landfall_checkout_verification_failures_total",
		Help: "Cached checkouts that were not their commit's tree (changed on disk), discarded and fetched again, by the kind that found out.",
	}, []string{"kind"})
	conditionGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "landfall_condition",
		Help: "1 for the status of each condition of each Landfall object; deleted with the object.",
	}, []string{"kind", "namespace", "name", "type", "status"})
)

func init() {
	metrics.Registry.MustRegister(fetchDuration, fetchErrors, webhookRequests, webhookRateLimited, webhookRefusingSources,
		checkoutVerifyFailures, conditionGauge)
}

// recordConditions exports the object's conditions, dropping stale status series.
func recordConditions(kind string, obj interface {
	objectWithConditions
	GetNamespace() string
	GetName() string
}) {
	ns, name := obj.GetNamespace(), obj.GetName()
	present := map[string]bool{}
	for _, c := range obj.GetConditions() {
		present[c.Type] = true
		for _, s := range conditionStatuses {
			v := 0.0
			if string(c.Status) == s {
				v = 1
			}
			conditionGauge.WithLabelValues(kind, ns, name, c.Type, s).Set(v)
		}
	}
	// A condition that is gone (Stalled after a recovery) must not keep its last value:
	// an alert on it would never resolve.
	for _, typ := range []string{landfallv1.ConditionReady, landfallv1.ConditionReconciling, landfallv1.ConditionStalled} {
		if !present[typ] {
			for _, s := range conditionStatuses {
				conditionGauge.DeleteLabelValues(kind, ns, name, typ, s)
			}
		}
	}
}

var conditionStatuses = []string{"True", "False", "Unknown"}

// forgetObject deletes every series of a deleted object.
func forgetObject(kind, namespace, name string) {
	conditionGauge.DeletePartialMatch(prometheus.Labels{"kind": kind, "namespace": namespace, "name": name})
}

// Sync metrics, per Application and environment; deleted with the Application.
var (
	renderDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "landfall_render_duration_seconds",
		Help:    "Duration of renders (cache hits included).",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"namespace", "application", "environment"})
	syncDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "landfall_sync_duration_seconds",
		Help:    "Duration of apply and prune of one environment.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"namespace", "application", "environment"})
	objectChanges = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "landfall_objects_total",
		Help: "Objects handled by sync, by action (created, configured, unchanged, pruned, skipped, failed).",
	}, []string{"namespace", "application", "environment", "action"})
	driftCorrections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "landfall_drift_corrections_total",
		Help: "Syncs that re-applied objects changed by hand (self-heal).",
	}, []string{"namespace", "application", "environment"})
	rollbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "landfall_rollbacks_total",
		Help: "Automatic rollbacks by reason (Degraded, HealthTimeout, AnalysisFailed).",
	}, []string{"namespace", "application", "environment", "reason"})
	rolloutWeight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "landfall_rollout_weight_percent",
		Help: "Weight of the revision rolling out in an environment (100 once whole, 0 after a rollback).",
	}, []string{"namespace", "application", "environment"})
	periodicDrift = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "landfall_periodic_drift_total",
		Help: "Periodic comparisons that found live objects changed which no watch reported.",
	}, []string{"namespace", "application", "environment"})
	pruneHolds = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "landfall_prune_holds_total",
		Help: "Prunes held because they would delete all, or more than half, of an environment.",
	}, []string{"namespace", "application", "environment"})
)

// renderEngine is the process's render engine, whose counters /metrics serves: renders
// run and renders answered from the cache, for every Application together (a series per
// Application would cost memory on every one).
var renderEngine atomic.Pointer[render.Engine]

func renderStats() render.Stats {
	if e := renderEngine.Load(); e != nil {
		return e.Stats()
	}
	return render.Stats{}
}

var (
	rendersRun = prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "landfall_renders_total",
		Help: "Renders run (Kustomize, Helm or plain), cache hits not counted.",
	}, func() float64 { return float64(renderStats().Renders) })
	renderHits = prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "landfall_render_cache_hits_total",
		Help: "Renders answered from the cache: nothing the last render read had changed.",
	}, func() float64 { return float64(renderStats().Hits) })
)

// gitClient is the process's Git client, whose checkout counters /metrics serves.
var gitClient atomic.Pointer[source.Client]

func gitStats() source.Stats {
	if c := gitClient.Load(); c != nil {
		return c.Stats()
	}
	return source.Stats{}
}

var (
	checkoutVerifications = prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "landfall_checkout_verifications_total",
		Help: "Full verifications of cached checkouts: every file hashed against its commit's tree.",
	}, func() float64 { return float64(gitStats().Verifications) })
	checkoutComparisons = prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "landfall_checkout_metadata_comparisons_total",
		Help: "Uses of a cached checkout that compared the metadata of all its files (not the uses vouched for by inotify).",
	}, func() float64 { return float64(gitStats().MetadataComparisons) })
)

func init() {
	metrics.Registry.MustRegister(rendersRun, renderHits, checkoutVerifications, checkoutComparisons)
	metrics.Registry.MustRegister(renderDuration, syncDuration, objectChanges, driftCorrections, periodicDrift, pruneHolds, rollbacks, rolloutWeight)
}

// forgetApplication deletes every per-environment series of a deleted Application.
func forgetApplication(namespace, name string) {
	forgetSeries(prometheus.Labels{"namespace": namespace, "application": name})
}

// forgetEnvironment deletes the series of an environment no longer in the spec.
func forgetEnvironment(namespace, app, env string) {
	forgetSeries(prometheus.Labels{"namespace": namespace, "application": app, "environment": env})
}

func forgetSeries(l prometheus.Labels) {
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{
		renderDuration, syncDuration, objectChanges, driftCorrections, periodicDrift, pruneHolds, rollbacks, rolloutWeight,
	} {
		v.DeletePartialMatch(l)
	}
}
