package notify

import "github.com/prometheus/client_golang/prometheus"

// The metrics of every target, labelled by the Notification's namespace and name and the
// target's name. They are API. Collectors returns them for the controllers to register.
var (
	queuedGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "landfall_notification_queued",
		Help: "Events waiting in a notification target's queue.",
	}, targetLabels)
	deadGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "landfall_notification_target_dead",
		Help: "1 while a notification target has failed DeadAfter deliveries in a row.",
	}, targetLabels)
	deliveredTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "landfall_notification_delivered_total",
		Help: "Events a notification target took.",
	}, targetLabels)
	droppedTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "landfall_notification_dropped_total",
		Help: "Events dropped, oldest first, because a notification target's queue was full.",
	}, targetLabels)
	failuresTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "landfall_notification_failures_total",
		Help: "Failed delivery attempts to a notification target.",
	}, targetLabels)
)

var targetLabels = []string{"namespace", "notification", "target"}

// Collectors returns the package's metrics.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{queuedGauge, deadGauge, deliveredTotal, droppedTotal, failuresTotal}
}

type targetMetrics struct {
	queued, dead                 prometheus.Gauge
	delivered, dropped, failures prometheus.Counter
}

func metricsFor(namespace, notification, target string) targetMetrics {
	l := prometheus.Labels{"namespace": namespace, "notification": notification, "target": target}
	return targetMetrics{
		queued: queuedGauge.With(l), dead: deadGauge.With(l),
		delivered: deliveredTotal.With(l), dropped: droppedTotal.With(l), failures: failuresTotal.With(l),
	}
}

func forgetMetrics(namespace, notification, target string) {
	l := prometheus.Labels{"namespace": namespace, "notification": notification, "target": target}
	for _, v := range []*prometheus.MetricVec{queuedGauge.MetricVec, deadGauge.MetricVec, deliveredTotal.MetricVec,
		droppedTotal.MetricVec, failuresTotal.MetricVec} {
		v.Delete(l)
	}
}
