// Package metricsapi serves the resource metrics API for local test and demo clusters.
package metricsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Utilization is the CPU every pod uses, as a share of its request: autoscalers that target
// 70% see their target met and keep the count their range gives.
const Utilization = 0.7

// Serve serves metrics.k8s.io/v1beta1 from this process, as metrics-server would, so that
// HorizontalPodAutoscalers work (and are healthy) on a local cluster that has no kubelet
// metrics: every running container uses Utilization of its CPU request. The apiserver reaches
// it through an APIService whose Service is an ExternalName for localhost. Serve returns once
// the APIService is Available; stop closes the server.
func Serve(ctx context.Context, c client.Client) (stop func(), err error) {
	srv := httptest.NewTLSServer(&metricsAPI{c: c})
	defer func() {
		if err != nil {
			srv.Close()
		}
	}()
	port, err := strconv.Atoi(srv.URL[strings.LastIndex(srv.URL, ":")+1:])
	if err != nil {
		return nil, err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "metrics-api"}}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "metrics-api", Namespace: ns.Name},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost",
			Ports: []corev1.ServicePort{{Port: int32(port)}}}}
	api := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": "v1beta1.metrics.k8s.io"},
		"spec": map[string]any{
			"group": "metrics.k8s.io", "version": "v1beta1", "insecureSkipTLSVerify": true,
			"groupPriorityMinimum": int64(100), "versionPriority": int64(100),
			"service": map[string]any{"namespace": ns.Name, "name": svc.Name, "port": int64(port)},
		},
	}}
	for _, o := range []client.Object{ns, svc, api} {
		if err := c.Create(ctx, o); err != nil {
			return nil, fmt.Errorf("creating %s: %w", o.GetName(), err)
		}
	}
	for ctx.Err() == nil {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(api.GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKey{Name: api.GetName()}, got); err == nil && apiServiceAvailable(got) {
			return srv.Close, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("the metrics APIService did not become Available: %w", ctx.Err())
}

func apiServiceAvailable(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Available" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// metricsAPI answers the resource metrics API's discovery and its pod metrics.
type metricsAPI struct{ c client.Client }

const metricsPrefix = "/apis/metrics.k8s.io/v1beta1"

func (m *metricsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, metricsPrefix), "/")
	switch {
	case r.URL.Path == metricsPrefix:
		writeJSON(w, map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "metrics.k8s.io/v1beta1",
			"resources": []any{
				map[string]any{"name": "pods", "singularName": "", "namespaced": true, "kind": "PodMetrics", "verbs": []string{"get", "list"}},
				map[string]any{"name": "nodes", "singularName": "", "namespaced": false, "kind": "NodeMetrics", "verbs": []string{"get", "list"}},
			}})
	case strings.HasPrefix(r.URL.Path, metricsPrefix+"/namespaces/") && len(parts) == 4 && parts[3] == "pods":
		items, err := m.podMetrics(r.Context(), parts[2], r.URL.Query())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, map[string]any{"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": map[string]any{}, "items": items})
	default:
		http.NotFound(w, r)
	}
}

// podMetrics is the usage of the running pods of ns that the query's labelSelector selects.
func (m *metricsAPI) podMetrics(ctx context.Context, ns string, q url.Values) ([]any, error) {
	sel, err := labels.Parse(q.Get("labelSelector"))
	if err != nil {
		return nil, err
	}
	pods := &corev1.PodList{}
	if err := m.c.List(ctx, pods, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, err
	}
	items := []any{}
	now := time.Now().UTC().Format(time.RFC3339)
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning {
			continue
		}
		var containers []any
		for _, c := range p.Spec.Containers {
			cpu := int64(float64(c.Resources.Requests.Cpu().MilliValue()) * Utilization)
			containers = append(containers, map[string]any{"name": c.Name,
				"usage": map[string]any{"cpu": fmt.Sprintf("%dm", cpu), "memory": "16Mi"}})
		}
		items = append(items, map[string]any{"metadata": map[string]any{"name": p.Name, "namespace": p.Namespace, "labels": p.Labels},
			"timestamp": now, "window": "30s", "containers": containers})
	}
	return items, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
