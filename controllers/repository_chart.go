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

// isArtifact reports whether a Repository is an OCI artifact of configuration.
func isArtifact(repo *landfallv1.Repository) bool {
	return repo.Spec.Chart == "" && strings.HasPrefix(strings.ToLower(repo.Spec.URL), "oci://")
}

// isOCIOrChart: a Repository the chart client fetches, not Git.
func isOCIOrChart(repo *landfallv1.Repository) bool { return isChart(repo) || isArtifact(repo) }

func artifactSpec(repo *landfallv1.Repository, auth source.Auth) chart.ArtifactSpec {
	return chart.ArtifactSpec{URL: repo.Spec.URL, Tag: repo.Spec.Ref.Tag, SemVer: repo.Spec.Ref.SemVer, Digest: repo.Spec.Ref.Digest, Auth: auth}
}

// fetchFrom fetches (or leases from the cache) a chart or artifact revision; a zero want
// resolves the spec's ref.
func fetchFrom(ctx context.Context, c *chart.Client, repo *landfallv1.Repository, auth source.Auth, want source.Revision) (*source.Checkout, error) {
	if isArtifact(repo) {
		return c.Artifact(ctx, artifactSpec(repo, auth), want)
	}
	return c.Checkout(ctx, chartSpec(repo, auth), want)
}

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
	co, err := fetchFrom(ctx, r.Charts, repo, auth, source.Revision{})
	fetchDuration.WithLabelValues("chart").Observe(time.Since(start).Seconds())
	if err != nil {
		return source.Revision{}, err
	}
	defer co.Close()
	return co.Revision, nil
}

// chartCheckout leases the laid-out chart (or expanded artifact) of a revision: from this
// process's cache, else fetched by its version (or digest) and checked against its digest.
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
	return fetchFrom(ctx, r.Charts, repo, auth, rev)
}
