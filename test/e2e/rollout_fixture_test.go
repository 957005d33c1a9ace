package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// rolloutTimeout bounds waits that span a whole rollout: several environments or canary
// steps, or a Deployment's progress deadline followed by a rollback.
const rolloutTimeout = 2 * timeout

// progressDeadline is the test Deployments' progressDeadlineSeconds: short, so the
// Deployment controller declares a bad image ProgressDeadlineExceeded (Degraded) within
// seconds instead of the default ten minutes.
const progressDeadline = 10

// webApp is a config of one Deployment "web" of replicas pods running image and a Service
// selecting them, under dir.
func webApp(dir, image string, replicas int) map[string]string {
	return map[string]string{
		dir + "/deployment.yaml": fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: %d
  progressDeadlineSeconds: %d
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: %s
`, replicas, progressDeadline, image),
		dir + "/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - {port: 80, targetPort: 8080}
`,
	}
}

// image names the web image with tag; in the test cluster ":bad" never turns Ready.
func image(tag string) string { return "registry.example/web:" + tag }

// revisionOf is how Landfall names a commit of main in status.
func revisionOf(commit string) string { return "main@sha1:" + commit }

// pushImage commits the web app under dir with a new image tag, announces it, and returns
// the revision.
func (f *fixture) pushImage(tb testing.TB, dir, tag string, replicas int) string {
	tb.Helper()
	return revisionOf(f.push(tb, write(tb, webApp(dir, image(tag), replicas))))
}

// expectCompleted checks that env finished rolling out revision: it is live, healthy,
// baked and recorded as the last healthy revision.
func expectCompleted(g Gomega, app *landfallv1.Application, env, revision string) {
	st := envStatus(g, app, env)
	g.Expect(st.Rollout).NotTo(BeNil(), "environment %s has no rollout yet", env)
	g.Expect(st.Rollout.Revision).To(Equal(revision), "environment %s: %s", env, st.Message)
	g.Expect(st.Rollout.Phase).To(Equal(landfallv1.RolloutCompleted), "environment %s: %s", env, st.Rollout.Message)
	g.Expect(st.Revision).To(Equal(revision), "environment %s", env)
	g.Expect(st.LastHealthyRevision).To(Equal(revision), "environment %s", env)
	g.Expect(st.Health).To(Equal(landfallv1.HealthHealthy), "environment %s", env)
}

// waitCompleted waits until every one of envs completed revision.
func waitCompleted(tb testing.TB, f *fixture, app *landfallv1.Application, revision string, within time.Duration, envs ...string) {
	tb.Helper()
	NewWithT(tb).Eventually(func(g Gomega) {
		got := f.get(g, app)
		for _, env := range envs {
			expectCompleted(g, got, env, revision)
		}
	}, within, poll).Should(Succeed())
}

// historyIndex returns where the entry of revision in env is in the history (newest
// first) and the entry; -1 when there is none.
func historyIndex(app *landfallv1.Application, env, revision string) (int, landfallv1.HistoryEntry) {
	for i, h := range app.Status.History {
		if h.Environment == env && h.Revision == revision {
			return i, h
		}
	}
	return -1, landfallv1.HistoryEntry{}
}

// readyReason returns the reason and message of the Ready condition.
func readyReason(app *landfallv1.Application) (string, string) {
	c := apimeta.FindStatusCondition(app.Status.Conditions, landfallv1.ConditionReady)
	if c == nil {
		return "", ""
	}
	return c.Reason, c.Message
}

// deployment reads a Deployment afresh.
func deployment(g Gomega, c client.Client, ns, name string) *appsv1.Deployment {
	d := &appsv1.Deployment{}
	g.Expect(c.Get(context.Background(), key(ns, name), d)).To(Succeed())
	return d
}

func imageOf(d *appsv1.Deployment) string { return d.Spec.Template.Spec.Containers[0].Image }

func replicasOf(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// progressDeadlineExceeded reports the Deployment controller's own verdict that a rollout
// stopped progressing.
func progressDeadlineExceeded(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return true
		}
	}
	return false
}

// eventMessages returns the messages of the Events about app with reason.
func eventMessages(g Gomega, c client.Client, app *landfallv1.Application, reason string) []string {
	events := &corev1.EventList{}
	g.Expect(c.List(context.Background(), events, client.InNamespace(app.Namespace))).To(Succeed())
	var out []string
	for _, e := range events.Items {
		if e.InvolvedObject.Kind == "Application" && e.InvolvedObject.Name == app.Name && e.Reason == reason {
			out = append(out, e.Message)
		}
	}
	return out
}

// rollbacks reads landfall_rollbacks_total of one environment and reason from the
// controller process's /metrics.
func rollbacks(g Gomega, e *env, app *landfallv1.Application, environment, reason string) float64 {
	v, err := e.ctrl.metric("landfall_rollbacks_total", `namespace="`+app.Namespace+`"`, `application="`+app.Name+`"`,
		`environment="`+environment+`"`, `reason="`+reason+`"`)
	g.Expect(err).NotTo(HaveOccurred())
	return v
}

// storedRevision returns the Secret that keeps env's last healthy revision, found by its
// labels, type and owner (its name is a hash of the Application's UID and env).
func storedRevision(g Gomega, c client.Client, app *landfallv1.Application, env string) *corev1.Secret {
	list := &corev1.SecretList{}
	g.Expect(c.List(context.Background(), list, client.InNamespace(app.Namespace), client.MatchingLabels{
		landfallv1.LabelEnvironment: env})).To(Succeed())
	var found []*corev1.Secret
	for i, s := range list.Items {
		if s.Type == "landfall.dev/rendered-revision" && len(s.OwnerReferences) == 1 && s.OwnerReferences[0].UID == app.UID {
			found = append(found, &list.Items[i])
		}
	}
	g.Expect(found).To(HaveLen(1), "one stored revision of %s %s", app.Name, env)
	return found[0]
}

// observed is one state of an object as a watch delivered it.
type observed[T client.Object] struct {
	at      time.Time // when the test received it
	obj     T
	deleted bool
}

// objectLog records every state of one object that the apiserver reports. A watch sees
// each write, so a brief state (one replica fewer for a moment) cannot slip between two
// polls.
type objectLog[T client.Object] struct {
	mu     sync.Mutex
	states []observed[T]
}

// watchObject records the object named name in ns from now until the test ends. The
// watch starts with the current state, if the object exists, and resumes from the last
// resourceVersion when the apiserver closes it.
func watchObject[T client.Object](tb testing.TB, e *env, list client.ObjectList, ns, name string) *objectLog[T] {
	tb.Helper()
	c, err := client.NewWithWatch(e.cluster.Config, client.Options{Scheme: scheme})
	must(tb, err)
	ctx, cancel := context.WithCancel(context.Background())
	l := &objectLog[T]{}
	started := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.follow(ctx, c, list, ns, name, started)
	}()
	tb.Cleanup(func() { cancel(); <-done })
	must(tb, <-started)
	return l
}

func (l *objectLog[T]) follow(ctx context.Context, c client.WithWatch, list client.ObjectList, ns, name string, started chan<- error) {
	rv := ""
	for first := true; ctx.Err() == nil; first = false {
		opts := &client.ListOptions{Namespace: ns, Raw: &metav1.ListOptions{
			FieldSelector: "metadata.name=" + name, ResourceVersion: rv, AllowWatchBookmarks: true}}
		w, err := c.Watch(ctx, list, opts)
		if first {
			started <- err
		}
		if err != nil {
			if first {
				return
			}
			time.Sleep(100 * time.Millisecond) // the apiserver refused a re-watch; try again shortly
			continue
		}
		rv = l.consume(w, rv)
	}
}

// consume records the events of one watch until it ends, and returns the last
// resourceVersion seen.
func (l *objectLog[T]) consume(w watch.Interface, rv string) string {
	defer w.Stop()
	for ev := range w.ResultChan() {
		obj, ok := ev.Object.(T)
		if !ok {
			continue // an error status: the watch ends next
		}
		rv = obj.GetResourceVersion()
		if ev.Type == watch.Bookmark {
			continue
		}
		l.mu.Lock()
		l.states = append(l.states, observed[T]{at: time.Now(), obj: obj, deleted: ev.Type == watch.Deleted})
		l.mu.Unlock()
	}
	return rv
}

// since returns the states recorded from index from on.
func (l *objectLog[T]) since(from int) []observed[T] {
	l.mu.Lock()
	defer l.mu.Unlock()
	if from >= len(l.states) {
		return nil
	}
	return append([]observed[T](nil), l.states[from:]...)
}

// len is how many states were recorded so far: a mark for since.
func (l *objectLog[T]) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.states)
}

// first returns the first state recorded from index from on that ok accepts.
func (l *objectLog[T]) first(from int, ok func(observed[T]) bool) (observed[T], bool) {
	for _, s := range l.since(from) {
		if ok(s) {
			return s, true
		}
	}
	return observed[T]{}, false
}

// killController kills the controller process with SIGKILL, as the kernel's OOM killer
// or a lost node would: no shutdown hook runs. It returns once the process is gone.
func (e *env) killController(tb testing.TB) {
	tb.Helper()
	must(tb, e.ctrl.cmd.Process.Signal(syscall.SIGKILL))
	<-e.ctrl.done
}

// restartController starts a new controller process against the environment's cluster,
// with a log and an empty checkout cache of its own in dir, as a rescheduled pod would.
func (e *env) restartController(tb testing.TB, dir string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := startController(ctx, filepath.Join(e.dir, dir), filepath.Join(e.dir, "controller.kubeconfig"))
	must(tb, err)
	e.ctrl = c
	e.dumpOnFailure(tb)
}
