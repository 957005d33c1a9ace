package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/notify"
	"github.com/landfall-dev/landfall/sync/source"
	"github.com/landfall-dev/landfall/sync/source/chart"
)

// RepositoryReconciler resolves each Repository's ref to a commit and fetches it into the
// shared checkout cache. A remote check (advertised refs only) runs on every reconcile; a
// fetch only when the commit changed. On any error the last good revision stays.
type RepositoryReconciler struct {
	client.Client
	// Secrets reads Secrets straight from the apiserver: caching every Secret of the
	// cluster in memory would cost memory and widen what a leak exposes.
	Secrets client.Reader
	Source  *source.Client
	// Charts fetches the Repositories that name a Helm chart.
	Charts   *chart.Client
	Recorder recorder.EventRecorder
	// Jitter spreads polls: each requeue waits interval × (1 ± Jitter/2).
	Jitter float64
	// Tenants refuses URLs outside the tenant policy of the Repository's namespace.
	Tenants *tenants
	// Notify publishes new revisions and policy violations.
	Notify *notifier
	// Shards, when set, is the shard group: only the Repositories it owns are fetched.
	Shards Ring
	// now is the clock; tests may replace it.
	now func() time.Time
}

// Reconcile fetches one Repository.
func (r *RepositoryReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	log := ctrl.LoggerFrom(ctx)
	repo := &landfallv1.Repository{}
	if err := r.Get(ctx, req.NamespacedName, repo); err != nil {
		if apierrors.IsNotFound(err) {
			forgetRepository(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !repo.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	before := repo.DeepCopy()
	defer func() {
		retErr = errors.Join(retErr, patchStatusIfChanged(ctx, r.Client, r.Recorder, "Repository", before, repo,
			func(r *landfallv1.Repository) any { return r.Status }))
	}()
	if repo.Spec.Suspend {
		// Suspend changes nothing, Ready included: the last revision stays.
		removeCondition(repo, landfallv1.ConditionReconciling)
		observe(repo)
		return ctrl.Result{}, nil
	}
	repo.Status.LastHandledReconcileAt = repo.Annotations[landfallv1.AnnotationReconcileRequestedAt]

	if err := r.checkTenant(ctx, repo); err != nil {
		markNotReady(repo, landfallv1.ReasonPolicyViolation, err.Error(), true)
		r.Recorder.Eventf(repo, nil, corev1.EventTypeWarning, landfallv1.ReasonPolicyViolation, "Fetch", "%s", err.Error())
		r.Notify.repository(repo, notify.PolicyViolation, "", err.Error())
		return ctrl.Result{RequeueAfter: r.interval(repo)}, nil
	}
	rev, rewoundFrom, commit, err := r.fetch(ctx, repo)
	if err != nil {
		reason, stalled := fetchFailure(err)
		fetchErrors.WithLabelValues(reason).Inc()
		countLimit("Repository", err)
		markNotReady(repo, reason, err.Error(), stalled)
		r.Recorder.Eventf(repo, nil, corev1.EventTypeWarning, reason, "Fetch", "%s", err.Error())
		log.Info("Fetch failed", "reason", reason, "error", err.Error())
		if stalled {
			// The user must act (credentials, URL, ref); poll again at the interval in case
			// the server side was fixed, without the exponential backoff of an error.
			return ctrl.Result{RequeueAfter: r.interval(repo)}, nil
		}
		return ctrl.Result{}, err
	}
	if repo.Status.Revision != rev.String() || repo.Status.LastFetchedAt == nil {
		// Only a new revision is written: an unchanged remote costs the apiserver nothing,
		// however often it is polled.
		now := metav1.NewTime(r.clock())
		repo.Status.LastFetchedAt = &now
	}
	if repo.Status.Revision != rev.String() {
		r.Recorder.Eventf(repo, nil, corev1.EventTypeNormal, "NewRevision", "Fetch", "stored revision %s", rev.String())
		r.Notify.repository(repo, notify.NewRevision, rev.String(), "stored revision "+rev.String())
		log.Info("New revision", "revision", rev.String(), "previous", repo.Status.Revision)
		repo.Status.Revision, repo.Status.RewoundFrom = rev.String(), rewoundFrom
	}
	repo.Status.Commit = commit
	repo.Status.ObservedGeneration = repo.Generation
	markReady(repo, landfallv1.ReasonSucceeded, "stored revision "+rev.String())
	return ctrl.Result{RequeueAfter: r.interval(repo)}, nil
}

// fetch checks the remote and, when the commit is new, fetches and verifies its checkout
// and decides whether it is an update or a rewind (see checkRewind). It returns the
// commit's subject and author too (nil for a chart; the status's own when nothing was fetched).
func (r *RepositoryReconciler) fetch(ctx context.Context, repo *landfallv1.Repository) (
	rev source.Revision, rewoundFrom string, commit *landfallv1.CommitInfo, err error) {
	if isOCIOrChart(repo) {
		rev, err := r.fetchChart(ctx, repo)
		return rev, "", nil, err
	}
	if strings.HasPrefix(strings.ToLower(repo.Spec.URL), "http://") && !repo.Spec.Insecure {
		return source.Revision{}, "", nil, fmt.Errorf("%w: plain http:// needs spec.insecure: true", source.ErrInvalidURL)
	}
	auth, err := r.auth(ctx, repo)
	if err != nil {
		return source.Revision{}, "", nil, err
	}
	ref := source.Ref{Branch: repo.Spec.Ref.Branch, Tag: repo.Spec.Ref.Tag, SemVer: repo.Spec.Ref.SemVer, Commit: repo.Spec.Ref.Commit,
		Name: repo.Spec.Ref.Name}
	// spec.timeout bounds how long this reconcile waits: a hung server must not hold a
	// worker that other Repositories need.
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout(repo))
	defer cancel()
	start := time.Now()
	rev, err = r.Source.Check(ctx, repo.Spec.URL, ref, auth)
	fetchDuration.WithLabelValues("check").Observe(time.Since(start).Seconds())
	if err != nil {
		return source.Revision{}, "", nil, err
	}
	if rev.String() == repo.Status.Revision && ref.Commit == "" && !mustReverify(repo) {
		return rev, repo.Status.RewoundFrom, repo.Status.Commit, nil
	}
	start = time.Now()
	co, err := r.Source.Checkout(ctx, repo.Spec.URL, ref, auth)
	fetchDuration.WithLabelValues("fetch").Observe(time.Since(start).Seconds())
	if err != nil {
		return source.Revision{}, "", nil, err
	}
	defer co.Close()
	commit = commitInfo(co)
	if co.Replaced != nil {
		reportCheckoutReplaced(ctx, r.Recorder, "Repository", repo, co.Replaced)
	}
	if err := r.verifySignature(ctx, repo, co); err != nil {
		return source.Revision{}, "", nil, err
	}
	if co.Revision.String() == repo.Status.Revision {
		return co.Revision, repo.Status.RewoundFrom, commit, nil
	}
	rewoundFrom, err = r.checkRewind(ctx, repo, ref, auth, co.Revision)
	return co.Revision, rewoundFrom, commit, err
}

// commitInfo is the checkout's commit as the API shows it; nil when Git gave nothing.
func commitInfo(co *source.Checkout) *landfallv1.CommitInfo {
	if co == nil || co.Commit == (source.CommitInfo{}) {
		return nil
	}
	return &landfallv1.CommitInfo{Subject: co.Commit.Subject, Author: co.Commit.Author}
}

func fetchTimeout(repo *landfallv1.Repository) time.Duration {
	if repo.Spec.Timeout != nil && repo.Spec.Timeout.Duration > 0 {
		return repo.Spec.Timeout.Duration
	}
	return source.DefaultTimeout
}

func (r *RepositoryReconciler) interval(repo *landfallv1.Repository) time.Duration {
	d := time.Minute
	if repo.Spec.Interval != nil && repo.Spec.Interval.Duration > 0 {
		d = repo.Spec.Interval.Duration
	}
	return jitter(d, r.Jitter)
}

func (r *RepositoryReconciler) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}

// fetchFailure maps an error to a condition reason, and says whether the user must act.
func fetchFailure(err error) (reason string, stalled bool) {
	switch {
	case isRegressed(err):
		return landfallv1.ReasonRevisionRegressed, true
	case errors.Is(err, source.ErrUnverified):
		return landfallv1.ReasonSignatureVerificationFailed, true
	case errors.Is(err, errSecret):
		return landfallv1.ReasonSecretNotFound, false
	case errors.Is(err, source.ErrAuthentication), errors.Is(err, source.ErrHostKey), errors.Is(err, source.ErrInvalidAuth):
		return landfallv1.ReasonAuthenticationFailed, true
	case exceededLimit(err) != "":
		// What the repository holds or the server sends will not shrink by retrying soon.
		return landfallv1.ReasonLimitExceeded, true
	case errors.Is(err, chart.ErrDigestMismatch), errors.Is(err, chart.ErrOtherHost), errors.Is(err, chart.ErrArchive):
		// The repository serves what it says it does not: retrying soon gets the same.
		return landfallv1.ReasonChartRefused, true
	case errors.Is(err, source.ErrInvalidURL), errors.Is(err, source.ErrInvalidRef), errors.Is(err, source.ErrUnsafeCheckout):
		return landfallv1.ReasonInvalidSpec, true
	}
	return landfallv1.ReasonFetchFailed, false
}
