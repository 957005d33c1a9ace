package health

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func load(t testing.TB, path string) *unstructured.Unstructured {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(js); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return obj
}

func TestOf(t *testing.T) {
	tests := []struct {
		file    string
		want    Status
		message string // a part of the message
	}{
		{"deployment/healthy.yaml", Healthy, "3 of 3 replicas available"},
		{"deployment/progressing-updating.yaml", Progressing, "1 of 3 replicas updated"},
		{"deployment/progressing-generation.yaml", Progressing, "observe generation 5 (observed 4)"},
		{"deployment/progressing-old-replicas.yaml", Progressing, "1 old replicas pending termination"},
		{"deployment/progressing-unavailable.yaml", Progressing, "1 of 2 updated replicas available"},
		{"deployment/progressing-replica-failure.yaml", Progressing, "exceeded quota"},
		{"deployment/progressing-no-status.yaml", Progressing, "waiting for the controller"},
		{"deployment/progressing-deleting.yaml", Progressing, "being deleted"},
		{"deployment/degraded-deadline.yaml", Degraded, "has timed out progressing"},
		{"deployment/suspended-paused.yaml", Suspended, "paused"},

		{"replicaset/healthy.yaml", Healthy, "3 of 3 replicas available"},
		{"replicaset/progressing.yaml", Progressing, "1 of 3 replicas available"},
		{"replicaset/degraded-replica-failure.yaml", Degraded, `serviceaccount "missing-sa" not found`},

		{"statefulset/healthy.yaml", Healthy, "3 of 3 pods ready"},
		{"statefulset/progressing-rolling.yaml", Progressing, "rolling update: 1 of 3 pods updated"},
		{"statefulset/progressing-not-ready.yaml", Progressing, "1 of 3 pods ready"},
		{"statefulset/healthy-partitioned.yaml", Healthy, "partitioned rollout complete: 1 pods updated"},
		{"statefulset/progressing-partitioned.yaml", Progressing, "partitioned rollout: 1 of 3 pods updated"},
		{"statefulset/healthy-ondelete.yaml", Healthy, "OnDelete"},

		{"daemonset/healthy.yaml", Healthy, "4 of 4 pods available"},
		{"daemonset/progressing-updating.yaml", Progressing, "2 of 4 nodes updated"},
		{"daemonset/progressing-unavailable.yaml", Progressing, "2 of 4 pods available"},
		{"daemonset/healthy-ondelete.yaml", Healthy, "4 of 4 pods available"},

		{"pod/healthy-running.yaml", Healthy, "running and ready"},
		{"pod/progressing-not-ready.yaml", Progressing, "containers not ready: web"},
		{"pod/progressing-unschedulable.yaml", Progressing, "Insufficient cpu"},
		{"pod/progressing-pending.yaml", Progressing, "pending"},
		{"pod/degraded-crashloop.yaml", Degraded, "container web: CrashLoopBackOff"},
		{"pod/degraded-imagepullbackoff.yaml", Degraded, "ImagePullBackOff"},
		{"pod/degraded-errimagepull.yaml", Degraded, "ErrImagePull"},
		{"pod/degraded-init-crashloop.yaml", Degraded, "container migrate: CrashLoopBackOff"},
		{"pod/progressing-error-onfailure.yaml", Progressing, "container report terminated: Error: restarting"},
		{"pod/degraded-error-onfailure.yaml", Degraded, "container report failed 2 times: Error"},
		{"pod/progressing-running-never.yaml", Progressing, "running, not yet completed"},
		{"pod/progressing-running-onfailure.yaml", Progressing, "running, not yet completed"},
		{"pod/progressing-restarted-once.yaml", Progressing, "containers not ready: web (restarted once: OOMKilled)"},
		{"pod/degraded-restarting.yaml", Degraded, "container web restarted 2 times and is not ready: OOMKilled"},
		{"pod/healthy-restarted-ready.yaml", Healthy, "running and ready"},
		{"pod/degraded-failed-never.yaml", Degraded, `relation "orders" already exists`},
		{"pod/degraded-evicted.yaml", Degraded, "Evicted"},
		{"pod/healthy-succeeded-never.yaml", Healthy, "completed"},
		{"pod/healthy-succeeded-onfailure.yaml", Healthy, "completed"},
		{"pod/degraded-succeeded-always.yaml", Degraded, "restartPolicy is Always"},

		{"job/healthy-complete.yaml", Healthy, "completed"},
		{"job/progressing-running.yaml", Progressing, "1 active, 0 succeeded, 1 failed"},
		{"job/degraded-backofflimit.yaml", Degraded, "BackoffLimitExceeded"},
		{"job/degraded-failure-target.yaml", Degraded, "DeadlineExceeded"},
		{"job/suspended.yaml", Suspended, "suspended"},

		{"cronjob/healthy.yaml", Healthy, "last run succeeded at 2026-03-02T01:04:12Z"},
		{"cronjob/healthy-active.yaml", Healthy, "1 job(s) running"},
		{"cronjob/healthy-never-scheduled.yaml", Healthy, "not yet scheduled"},
		{"cronjob/degraded-last-failed.yaml", Degraded, "2026-03-03T01:00:00Z did not succeed"},
		{"cronjob/suspended.yaml", Suspended, "suspended"},

		{"pvc/healthy-bound.yaml", Healthy, "pvc-3c2b1a09"},
		{"pvc/progressing-pending.yaml", Progressing, "waiting for a volume"},
		{"pvc/degraded-lost.yaml", Degraded, "lost"},

		{"service/healthy-clusterip.yaml", Healthy, ""},
		{"service/healthy-loadbalancer.yaml", Healthy, "203.0.113.17"},
		{"service/progressing-loadbalancer.yaml", Progressing, "load balancer"},

		{"ingress/healthy.yaml", Healthy, "elb.amazonaws.com"},
		{"ingress/progressing-no-address.yaml", Progressing, "waiting for the nginx ingress controller to publish an address"},
		{"ingress/progressing-no-class.yaml", Progressing, "waiting for the default ingress controller to publish an address"},

		{"hpa/healthy.yaml", Healthy, "3 replicas (min 2, max 10)"},
		{"hpa/healthy-limited.yaml", Healthy, "more than the maximum"},
		{"hpa/healthy-scaling-disabled.yaml", Healthy, "ScalingDisabled"},
		{"hpa/healthy-v1.yaml", Healthy, "3 replicas"},
		{"hpa/degraded-no-metrics-api.yaml", Degraded, "cannot fetch metrics: FailedGetResourceMetric"},
		{"hpa/degraded-missing-request.yaml", Degraded, "missing request for cpu"},
		{"hpa/degraded-no-target.yaml", Degraded, "cannot scale: FailedGetScale"},
		{"hpa/degraded-update-scale.yaml", Degraded, "cannot scale: FailedUpdateScale"},
		{"hpa/degraded-invalid-selector.yaml", Degraded, "InvalidSelector"},
		{"hpa/progressing-gathering.yaml", Progressing, "gathering metrics: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned"},
		{"hpa/progressing-pods-replaced.yaml", Progressing, "gathering metrics: failed to get cpu utilization: no metrics returned matched known pods"},
		{"hpa/degraded-v1-cannot-scale.yaml", Degraded, "cannot scale: FailedGetScale"},
		{"hpa/degraded-v1-no-metrics-api.yaml", Degraded, "cannot fetch metrics: FailedGetResourceMetric"},
		{"hpa/progressing-v1-gathering.yaml", Progressing, "gathering metrics: failed to get cpu utilization: did not receive metrics for targeted pods"},
		{"hpa/progressing-new.yaml", Progressing, "waiting for the autoscaler"},

		{"apiservice/healthy.yaml", Healthy, "available"},
		{"apiservice/progressing.yaml", Progressing, "MissingEndpoints"},

		{"crd/healthy.yaml", Healthy, "established"},
		{"crd/progressing.yaml", Progressing, "established"},
		{"crd/degraded-names.yaml", Degraded, `"wd" is already in use`},

		{"pdb/healthy.yaml", Healthy, "3 pods healthy, 1 disruptions allowed"},
		{"pdb/healthy-no-disruptions.yaml", Healthy, "0 disruptions allowed"},
		{"pdb/progressing.yaml", Progressing, "1 of 2 pods healthy"},
		{"pdb/degraded-syncfailed.yaml", Degraded, "found no controllers"},

		{"core/healthy-configmap.yaml", Healthy, ""},
		{"core/healthy-secret.yaml", Healthy, ""},
		{"core/healthy-namespace.yaml", Healthy, ""},

		{"custom/healthy-ready.yaml", Healthy, ""},
		{"custom/healthy-no-status.yaml", Healthy, ""},
		{"custom/progressing-not-ready.yaml", Progressing, ""},
		{"custom/progressing-reconciling.yaml", Progressing, "Running health checks"},
		{"custom/progressing-generation.yaml", Progressing, ""},
		{"custom/degraded-stalled.yaml", Degraded, "kustomization path not found"},
		{"custom/suspended.yaml", Suspended, "suspended"},
		{"custom/unknown-malformed.yaml", Unknown, "cannot read status"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := Of(load(t, tt.file))
			if got.Status != tt.want {
				t.Errorf("status = %s (%q), want %s", got.Status, got.Message, tt.want)
			}
			if !strings.Contains(got.Message, tt.message) {
				t.Errorf("message = %q, want it to contain %q", got.Message, tt.message)
			}
		})
	}
}

// TestEveryFixtureIsTested keeps the table and testdata/ in step: a fixture nobody asserts
// on proves nothing.
func TestEveryFixtureIsTested(t *testing.T) {
	files, err := filepath.Glob("testdata/*/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("health_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		rel := strings.TrimPrefix(filepath.ToSlash(f), "testdata/")
		if !strings.Contains(string(src), `"`+rel+`"`) {
			t.Errorf("fixture %s is not in the TestOf table", rel)
		}
	}
}

func TestOfNil(t *testing.T) {
	if got := Of(nil); got.Status != Unknown {
		t.Errorf("Of(nil) = %v, want Unknown", got)
	}
}

// TestOfYAMLNumbers checks that objects whose numbers are float64 (decoded by a plain YAML
// or JSON library rather than apimachinery) are judged the same.
func TestOfYAMLNumbers(t *testing.T) {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "generation": float64(2)},
		"spec":     map[string]any{"replicas": float64(2)},
		"status": map[string]any{
			"observedGeneration": float64(2), "replicas": float64(2),
			"updatedReplicas": float64(2), "availableReplicas": float64(1),
		},
	}}
	if got := Of(obj); got.Status != Progressing || !strings.Contains(got.Message, "1 of 2") {
		t.Errorf("Of = %+v, want Progressing with 1 of 2", got)
	}
}

func TestAggregate(t *testing.T) {
	h := func(kind, name string, s Status, msg string) ObjectHealth {
		return ObjectHealth{Kind: kind, Namespace: "shop", Name: name, Result: Result{Status: s, Message: msg}}
	}
	tests := []struct {
		name    string
		in      []ObjectHealth
		want    Status
		message string
	}{
		{"empty", nil, Healthy, "no objects"},
		{"all healthy", []ObjectHealth{h("Deployment", "web", Healthy, ""), h("Service", "web", Healthy, "")}, Healthy, "all 2 objects healthy"},
		{"degraded wins over progressing", []ObjectHealth{
			h("Deployment", "api", Progressing, "1 of 3 replicas updated"),
			h("Deployment", "web", Degraded, "progress deadline exceeded"),
			h("Service", "web", Healthy, ""),
		}, Degraded, "Deployment/shop/web Degraded: progress deadline exceeded (2 of 3 objects not healthy)"},
		{"progressing wins over suspended and unknown", []ObjectHealth{
			h("CronJob", "export", Suspended, "schedule is suspended"),
			h("Widget", "w", Unknown, "cannot read status"),
			h("Deployment", "web", Progressing, "1 of 3 replicas updated"),
		}, Progressing, "Deployment/shop/web Progressing"},
		{"unknown wins over suspended", []ObjectHealth{
			h("CronJob", "export", Suspended, "schedule is suspended"),
			h("Widget", "w", Unknown, "cannot read status"),
		}, Unknown, "Widget/shop/w Unknown"},
		{"suspended over healthy", []ObjectHealth{
			h("Deployment", "web", Healthy, ""),
			h("CronJob", "export", Suspended, "schedule is suspended"),
		}, Suspended, "CronJob/shop/export Suspended: schedule is suspended"},
		{"first of equals is named", []ObjectHealth{
			h("Deployment", "a", Degraded, "first"),
			h("Deployment", "b", Degraded, "second"),
		}, Degraded, "Deployment/shop/a Degraded: first"},
		{"unrecognised status counts as unknown", []ObjectHealth{
			h("Deployment", "a", Healthy, ""),
			h("Deployment", "b", Status("Bogus"), ""),
		}, Unknown, "Deployment/shop/b"},
		{"cluster-scoped name", []ObjectHealth{
			{Kind: "CustomResourceDefinition", Name: "widgets.example.com", Result: Result{Status: Progressing}},
		}, Progressing, "CustomResourceDefinition/widgets.example.com Progressing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Aggregate(tt.in)
			if got.Status != tt.want || !strings.Contains(got.Message, tt.message) {
				t.Errorf("Aggregate = %+v, want %s with %q", got, tt.want, tt.message)
			}
		})
	}
}

func TestNewObjectHealth(t *testing.T) {
	got := NewObjectHealth(load(t, "deployment/degraded-deadline.yaml"))
	want := ObjectHealth{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}
	if got.Group != want.Group || got.Kind != want.Kind || got.Namespace != want.Namespace || got.Name != want.Name || got.Status != Degraded {
		t.Errorf("NewObjectHealth = %+v", got)
	}
}

func BenchmarkOf(b *testing.B) {
	objs := []*unstructured.Unstructured{
		load(b, "deployment/healthy.yaml"),
		load(b, "pod/degraded-crashloop.yaml"),
		load(b, "custom/progressing-reconciling.yaml"),
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		Of(objs[i%len(objs)])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/object")
}
