package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/sync/source"
	"github.com/landfall-dev/landfall/sync/source/chart"
)

// isChart reports whether a Repository is a Helm chart source rather than Git.
func isChart(repo *landfallv1.Repository) bool { return repo.Spec.Chart != "" }

// chartSpec is a chart Repository's spec and credentials as the chart fetcher's options.
func chartSpec(repo *landfallv1.Repository, auth source.Auth) chart.Spec {
	return chart.Spec{URL: repo.Spec.URL, Chart: repo.Spec.Chart, Version: repo.Spec.Ref.Tag + repo.Spec.Ref.SemVer,
		Auth: auth, AllowHTTP: repo.Spec.Insecure}
}

// fetchChart resolves a chart Repository's version and fetches the chart (with the
// dependencies it does not vendor) into the cache, unless it is there: the revision is the
// version and its archive's digest. A version that goes down (a newer one withdrawn) is
// taken as any other: the index is the truth, as a branch's tip is.
func (r *RepositoryReconciler) fetchChart(ctx context.Context, repo *landfallv1.Repository) (source.Revision, error) {
	if r.Charts == nil {
		return source.Revision{}, fmt.Errorf("%w: this controller has no chart cache", source.ErrInvalidURL)
	}
	if strings.HasPrefix(strings.ToLower(repo.Spec.URL), "http://") && !repo.Spec.Insecure {
		return source.Revision{}, fmt.Errorf("%w: plain http:// needs spec.insecure: true", source.ErrInvalidURL)
	}
	auth, err := r.auth(ctx, repo)
	if err != nil {
		return source.Revision{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout(repo))
	defer cancel()
	start := time.Now()
	co, err := r.Charts.Checkout(ctx, chartSpec(repo, auth), source.Revision{})
	fetchDuration.WithLabelValues("chart").Observe(time.Since(start).Seconds())
	if err != nil {
		return source.Revision{}, err
	}
	defer co.Close()
	return co.Revision, nil
}

// chartCheckout leases the laid-out chart of a revision of a chart Repository: from this
// process's cache, else fetched by its version and checked against its digest.
func (r *ApplicationReconciler) chartCheckout(ctx context.Context, repo *landfallv1.Repository, rev source.Revision) (*source.Checkout, error) {
	if r.Charts == nil {
		return nil, fmt.Errorf("%w: this controller has no chart cache", source.ErrInvalidURL)
	}
	if co, ok := r.Charts.Cached(rev); ok {
		return co, nil
	}
	auth, err := (&RepositoryReconciler{Secrets: r.Secrets}).auth(ctx, repo)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout(repo))
	defer cancel()
	return r.Charts.Checkout(ctx, chartSpec(repo, auth), rev)
}
