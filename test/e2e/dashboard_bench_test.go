package e2e

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// dashboardPushes is how many pushes the dashboard benchmark measures.
const dashboardPushes = 10

// BenchmarkDashboardPushToScreen measures git push → the new commit on the screen of a
// headless Chromium that keeps the Applications page open (live updates, no reload). The
// baseline is git push → the Application's status naming the commit, seen by a watch of the
// apiserver (what `kubectl get -w` would show); the difference, status → screen, is the
// dashboard's part. Target: push to screen within 2 s.
func BenchmarkDashboardPushToScreen(b *testing.B) {
	e := shared(b)
	web := testdata(b, "web", "apps/bench")
	f := newFixture(b, e, stampFiles(b, web, 0))
	app := f.syncedApplication(b, "bench", "apps/bench", "bench", f.ns+"-bench")
	br := newBrowser(b, e)
	br.signIn(dashboardAdmin(b, f))
	br.open("/?q=" + url.QueryEscape(f.ns+"/bench"))
	stage := "#app-" + f.ns + "-bench .stage[data-env=\"bench\"]"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	statuses := watchObject[*landfallv1.Application](b, e, &landfallv1.ApplicationList{}, f.ns, app.Name)

	b.ResetTimer()
	var total, status, dashboard []time.Duration
	for n := 1; n <= dashboardPushes; n++ {
		from := statuses.len()
		commit := f.srv.CommitChange(b, "main", write(b, stampFiles(b, web, n)))
		pushed := time.Now()
		f.webhook(b)
		for !strings.Contains(br.text(stage), short(commit)) {
			if ctx.Err() != nil {
				b.Fatalf("push %d never reached the screen", n)
			}
			time.Sleep(10 * time.Millisecond)
		}
		shown := time.Now()
		total = append(total, shown.Sub(pushed))
		if seen, ok := statuses.first(from, func(o observed[*landfallv1.Application]) bool {
			return operateStatusRevision(o.obj) == revisionOf(commit)
		}); ok {
			status = append(status, seen.at.Sub(pushed))
			dashboard = append(dashboard, shown.Sub(seen.at))
		}
	}
	b.StopTimer()
	b.ReportMetric(ms(percentile(total, 50)), "push_to_screen_p50_ms")
	b.ReportMetric(ms(percentile(total, 100)), "push_to_screen_max_ms")
	if len(dashboard) > 0 {
		b.ReportMetric(ms(percentile(status, 50)), "push_to_status_p50_ms")
		b.ReportMetric(ms(percentile(dashboard, 50)), "status_to_screen_p50_ms")
		b.ReportMetric(ms(percentile(dashboard, 100)), "status_to_screen_max_ms")
	}
	b.Logf("push → screen over %d pushes: p50 %s, max %s (target ≤ 2s); baseline push → status (watch): p50 %s, max %s; "+
		"status → screen: p50 %s, max %s (%d of %d pushes seen by the watch)",
		len(total), percentile(total, 50).Round(time.Millisecond), percentile(total, 100).Round(time.Millisecond),
		percentile(status, 50).Round(time.Millisecond), percentile(status, 100).Round(time.Millisecond),
		percentile(dashboard, 50).Round(time.Millisecond), percentile(dashboard, 100).Round(time.Millisecond), len(dashboard), len(total))
}

// operateStatusRevision is the revision the Application's only environment runs.
func operateStatusRevision(app *landfallv1.Application) string {
	if len(app.Status.Environments) == 0 {
		return ""
	}
	return app.Status.Environments[0].Revision
}
