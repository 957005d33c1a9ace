package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// TestDashboardPipeline drives the dashboard in a real headless Chromium against the
// controller on the full cluster, signed in with a real ServiceAccount token: a push
// appears as a new revision in the Applications pipeline without a reload (live, from the
// controller's informers); a bad image shows staging's rollback and its cause in the
// timeline; the rollback button puts production back on the revision before.
func TestDashboardPipeline(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	e := shared(t)
	f := newFixture(t, e, webApp("apps/web", image("v1"), 1))
	app, staging, production := healthGatedApp(t, f)
	first := f.srv.Head(t, "refs/heads/main")
	b := newBrowser(t, e)
	b.signIn(dashboardAdmin(t, f))

	b.open("/?q=" + url.QueryEscape(f.ns+"/web"))
	stage := func(env string) string { return b.text("#app-" + f.ns + "-web .stage[data-env=\"" + env + "\"]") }
	g.Eventually(func() string { return stage("production") }, timeout, poll).Should(ContainSubstring(short(first)))
	g.Expect(b.count("tr[data-app]")).To(Equal(1), "the filter shows one Application")

	// A push: the page, left open, shows the new revision in staging and then production.
	second := f.pushImage(t, "apps/web", "v2", 1)
	g.Eventually(func() string { return stage("staging") }, rolloutTimeout, poll).Should(ContainSubstring(short(operateCommit(second))))
	expectPromotedAfterBake(t, f, app, second)
	g.Eventually(func() string { return stage("production") }, timeout, poll).Should(ContainSubstring(short(operateCommit(second))))
	g.Expect(stage("production")).To(And(ContainSubstring("change on main"), ContainSubstring("by Landfall Test")),
		"the pipeline names the commit's subject and author")
	b.screenshot("applications")

	// A bad image: staging rolls back by itself; its timeline says so, and why.
	bad := f.pushImage(t, "apps/web", "bad", 1)
	rolled := expectRolledBack(t, f, app, "staging", bad, second, "Degraded", "progress deadline exceeded")
	_, entry := historyIndex(rolled, "staging", bad)
	b.open("/applications/" + f.ns + "/web")
	g.Eventually(func() string { return b.text("#env-staging .timeline") }, timeout, poll).
		Should(And(ContainSubstring(short(operateCommit(bad))), ContainSubstring("RolledBack"), ContainSubstring(entry.Message),
			ContainSubstring("change on main"), ContainSubstring("by Landfall Test")))
	g.Expect(b.text("#env-staging .now")).To(ContainSubstring("rolled back"), "what staging is doing now")
	g.Expect(b.text("#env-production h2")).To(ContainSubstring(short(operateCommit(second))), "production untouched")
	g.Expect(b.count("#env-staging .tree li")).To(BeNumerically(">=", 2), "staging's objects: a Deployment and what it runs")
	b.screenshot("application")
	g.Expect(eval[string](b, unlabelled)).To(BeEmpty(), "every control has a label or text, for screen readers")

	// An action on a revision not in the history is refused, with the reason in the page.
	rollbackTo(b, "production", "main@sha1:0123456789abcdef0123456789abcdef01234567")
	g.Eventually(func() string { return b.text("#flash") }, timeout, poll).Should(ContainSubstring("not in the history"))
	g.Expect(f.get(g, app).Annotations).NotTo(HaveKey(landfallv1.AnnotationPinPrefix+"production"), "nothing pinned")

	// The rollback button: production back on the first revision.
	rollbackTo(b, "production", revisionOf(first))
	g.Eventually(func() string { return b.text("#flash") }, timeout, poll).Should(ContainSubstring("pinned to " + revisionOf(first)))
	g.Eventually(func(g Gomega) string { return imageOf(deployment(g, e.k8s, production, "web")) }, rolloutTimeout, poll).
		Should(Equal(image("v1")), "the rollback button moves production back")
	g.Eventually(func() string { return b.text("#env-production .now") }, timeout, poll).Should(ContainSubstring("pinned to "+short(first)),
		func() string { // what the controller recorded, and whether the page was still live
			return fmt.Sprintf("status pinnedRevision %q; the page's live indicator: %q",
				envStatus(g, f.get(g, app), "production").PinnedRevision, b.text("#live"))
		})
	g.Expect(imageOf(deployment(g, e.k8s, staging, "web"))).To(Equal(image("v2")), "staging stays")
	b.screenshot("rolled-back")
}

// rollbackTo chooses revision in env's rollback form (adding it as an option when the page
// does not offer it) and submits the form, in one script: a live update between choosing
// and clicking would swap in a fresh form without the added option and submit its default.
func rollbackTo(b *browser, env, revision string) {
	b.tb.Helper()
	eval[bool](b, `(function(){var f=document.querySelector("#env-`+env+` form.rollback");var s=f.querySelector("select");
var v=`+jsString(revision)+`;if(![].some.call(s.options,function(o){return o.value===v})){var o=document.createElement("option");o.value=v;s.appendChild(o)}
s.value=v;f.requestSubmit(f.querySelector("button"));return true})()`)
}

// unlabelled lists the page's form controls without a label and buttons and links
// without text.
const unlabelled = `(function(){var bad=[];
document.querySelectorAll("input:not([type=hidden]),select,textarea").forEach(function(e){if(!e.labels||!e.labels.length){bad.push(e.outerHTML)}});
document.querySelectorAll("button,a").forEach(function(e){if(!e.innerText.trim()&&!e.getAttribute("aria-label")){bad.push(e.outerHTML)}});
return bad.join("\n")})()`

// operateCommit is the commit of a revision main@sha1:<commit>.
func operateCommit(rev string) string { return rev[len("main@sha1:"):] }

func jsString(s string) string { return `"` + s + `"` } // revisions hold no quotes

// TestDashboardPreviewCards: a pull request's preview appears as a card on the Previews
// page, left open, and disappears when the pull request closes.
func TestDashboardPreviewCards(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	e := shared(t)
	f := newFixture(t, e, testdata(t, "web-seed", "apps/web"))
	b := newBrowser(t, e)
	b.signIn(dashboardAdmin(t, f))
	b.open("/previews")
	card := "#preview-" + f.ns + "-previews-7"
	g.Expect(b.count(card)).To(BeZero())

	commit := openPullRequest(t, f, 7, previewFiles(t, 7, "v1"))
	p := createPreview(t, f, nil)
	waitPreviewHealthy(g, f, p, 7, commit)
	g.Eventually(func() string { return b.text(card) }, timeout, poll).
		Should(And(ContainSubstring("#7"), ContainSubstring(f.ns+"-pr-7"), ContainSubstring(short(commit)), ContainSubstring("Healthy")))
	b.screenshot("previews")

	// The Repositories page names the source, its ref, the commit it fetched and its author.
	b.open("/repositories")
	g.Eventually(func() string { return b.text("#repo-" + f.ns + "-config") }, timeout, poll).
		Should(And(ContainSubstring(f.srv.URL), ContainSubstring("branch main"), ContainSubstring("Succeeded"), ContainSubstring("by Landfall Test")))
	b.screenshot("repositories")

	pullRequestHook(t, f, "closed", 7)
	waitPreviewGone(g, f, "previews-pr-7", f.ns+"-pr-7")
	g.Eventually(func() int { return b.count(card) }, timeout, poll).Should(BeZero(), "the card goes when the pull request closes")
}

// TestDashboardTenantIsolation: a user who may only get Applications in their own
// namespace sees nothing of another namespace (not in the list, not by URL, not in the
// live stream) and gets no action buttons; an action is 403 at the HTTP level. A forged
// token is 401; a browser session's action without its CSRF token, or from another
// origin, is refused.
func TestDashboardTenantIsolation(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	e := shared(t)
	mine := newFixture(t, e, webApp("apps/web", image("v1"), 1))
	theirs := newFixture(t, e, webApp("apps/web", image("v1"), 1))
	mineApp := mine.syncedApplication(t, "web", "apps/web", "staging", mine.ns+"-staging")
	theirApp := theirs.syncedApplication(t, "web", "apps/web", "staging", theirs.ns+"-staging")
	token := userToken(t, e, mine.ns, "viewer")
	grant(t, e, mine.ns, "viewer", mine.ns, "get", "list", "watch")
	base := "http://" + e.ctrl.dashboardAddr

	b := newBrowser(t, e)
	b.signIn(token)
	g.Eventually(func() int { return b.count("tr[data-app=\"" + mine.ns + "/web\"]") }, timeout, poll).Should(Equal(1))
	g.Expect(b.count("tr[data-app]")).To(Equal(1), "only the Application of the user's namespace: %s", b.text("main"))
	g.Expect(b.text("main")).NotTo(ContainSubstring(theirs.ns))
	b.open("/applications/" + theirs.ns + "/web")
	g.Expect(b.text("body")).To(ContainSubstring("no Application"), "another namespace's Application is not found")
	g.Expect(b.text("body")).NotTo(ContainSubstring("staging"))
	b.open("/applications/" + mine.ns + "/web")
	g.Expect(b.text("h1")).To(ContainSubstring("web"))
	g.Expect(b.count("form[action$=\"/sync\"], form.rollback, form[action$=\"/suspend\"]")).To(BeZero(), "no action buttons without patch")
	b.screenshot("viewer")

	hc := dashboardClient()
	bearer := map[string]string{"Authorization": "Bearer " + token}
	// At the HTTP level: 403 on the user's own Application (get but not patch), and
	// another namespace's Application does not exist for them.
	for _, act := range []string{"sync", "rollback", "approve", "suspend", "resume"} {
		g.Expect(post(g, hc, base+"/applications/"+mine.ns+"/web/"+act, url.Values{"env": {"staging"}}, bearer)).
			To(Equal(http.StatusForbidden), act)
		g.Expect(post(g, hc, base+"/applications/"+theirs.ns+"/web/"+act, url.Values{"env": {"staging"}}, bearer)).
			To(Equal(http.StatusNotFound), act)
	}
	for _, a := range []*landfallv1.Application{mineApp, theirApp} {
		got := mine.get(g, a)
		g.Expect(got.Annotations).NotTo(HaveKey(landfallv1.AnnotationSyncRequestedAt), "%s: nothing written", a.Namespace)
		g.Expect(got.Spec.Suspend).To(BeFalse())
	}
	status, _ := getPage(g, hc, base+"/", map[string]string{"Authorization": "Bearer forged.token.value"})
	g.Expect(status).To(Equal(http.StatusUnauthorized), "a forged token")
	status, _ = getPage(g, hc, base+"/", nil)
	g.Expect(status).To(Equal(http.StatusUnauthorized), "no token")

	// The live stream tells this user of their own namespace only: a change of the other
	// namespace's Application, made first, never arrives before a new Repository of theirs.
	marker := &landfallv1.Repository{ObjectMeta: metav1.ObjectMeta{Name: "stream-marker", Namespace: mine.ns},
		Spec: *mine.repo.Spec.DeepCopy()} // the fixture's own Git server on loopback
	expectStreamFiltered(t, base, token, func() {
		must(t, e.k8s.Patch(ctx, theirApp, rawMerge(`{"metadata":{"annotations":{"test.landfall.dev/touch":"1"}}}`)))
		must(t, e.k8s.Create(ctx, marker))
	}, mine.ns+"/stream-marker", theirs.ns)

	// CSRF: an admin's browser session (cookie) whose action lacks the form's token, or
	// comes from another origin, is refused; nothing is written.
	admin := dashboardAdmin(t, theirs)
	session := dashboardClient()
	form := url.Values{"token": {admin}}
	g.Expect(post(g, session, base+"/login", form, map[string]string{"Origin": base})).To(Equal(http.StatusSeeOther))
	target := base + "/applications/" + theirs.ns + "/web/suspend"
	g.Expect(post(g, session, target, url.Values{}, map[string]string{"Origin": base})).To(Equal(http.StatusForbidden), "no CSRF token")
	_, page := getPage(g, session, base+"/applications/"+theirs.ns+"/web", nil)
	csrf := csrfToken(g, page)
	g.Expect(post(g, session, target, url.Values{"csrf": {csrf}}, map[string]string{"Origin": "http://evil.example"})).
		To(Equal(http.StatusForbidden), "another origin")
	g.Expect(post(g, session, target, url.Values{"csrf": {csrf}}, nil)).To(Equal(http.StatusForbidden), "no origin")
	g.Expect(theirs.get(g, theirApp).Spec.Suspend).To(BeFalse(), "no refused request suspended anything")
	g.Expect(post(g, session, target, url.Values{"csrf": {csrf}}, map[string]string{"Origin": base})).To(Equal(http.StatusSeeOther), "the real form")
	g.Eventually(func(g Gomega) bool { return theirs.get(g, theirApp).Spec.Suspend }, timeout, poll).Should(BeTrue())
}
