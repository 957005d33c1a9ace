package chart

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"

	"github.com/landfall-dev/landfall/render/manifest"
	"github.com/landfall-dev/landfall/sync/source"
)

// maxIndexNodes bounds the YAML nodes of an index after alias expansion.
const maxIndexNodes = 4_000_000

// index is a chart repository served as index.yaml and archives over HTTP(S).
type index struct {
	base   *url.URL
	auth   source.Auth
	client *http.Client
	loaded *repo.IndexFile // read once per fetch
}

func newIndex(base *url.URL, auth source.Auth) (*index, error) {
	if auth.Username != "" && auth.BearerToken != "" {
		return nil, fmt.Errorf("%w: set username and password, or bearerToken, not both", source.ErrInvalidAuth)
	}
	client, err := httpClient(base.Host, auth.CAData)
	if err != nil {
		return nil, err
	}
	b := *base
	b.Path = strings.TrimSuffix(b.Path, "/")
	return &index{base: &b, auth: auth, client: client}, nil
}

// httpClient trusts the system roots and caData, and follows no redirect to another host.
func httpClient(host string, caData []byte) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	if len(caData) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(caData) {
			return nil, fmt.Errorf("%w: caFile holds no PEM certificate", source.ErrInvalidAuth)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != host || len(via) >= 5 {
			return fmt.Errorf("redirect to %s: %w", req.URL.Redacted(), ErrOtherHost)
		}
		return nil
	}}, nil
}

func (x *index) resolve(ctx context.Context, chart, version string) (source.Revision, error) {
	cv, err := x.version(ctx, chart, version)
	if err != nil {
		return source.Revision{}, err
	}
	if cv.Digest == "" {
		return source.Revision{}, fmt.Errorf("chart %s %s in %s: the index gives no digest, so the archive cannot be verified", chart, cv.Version, x.base.Redacted())
	}
	return source.Revision{Ref: cv.Version, Digest: "sha256:" + strings.TrimPrefix(cv.Digest, "sha256:")}, nil
}

func (x *index) version(ctx context.Context, chart, version string) (*repo.ChartVersion, error) {
	name := x.base.Redacted() + "/index.yaml"
	if x.loaded == nil {
		data, err := x.get(ctx, x.base.JoinPath("index.yaml"), MaxIndexBytes, "index")
		if err != nil {
			return nil, err
		}
		if err := manifest.CheckAliases(name, data, maxIndexNodes); err != nil {
			return nil, err
		}
		idx := &repo.IndexFile{}
		if err := yaml.Unmarshal(data, idx); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		idx.SortEntries()
		x.loaded = idx
	}
	cv, err := x.loaded.Get(chart, version)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s in %s: %w", ErrNotFound, chart, version, name, err)
	}
	return cv, nil
}

func (x *index) archive(ctx context.Context, chart string, rev source.Revision) ([]byte, error) {
	cv, err := x.version(ctx, chart, rev.Ref)
	if err != nil {
		return nil, err
	}
	if len(cv.URLs) == 0 {
		return nil, fmt.Errorf("chart %s %s in %s: the index gives no URL", chart, cv.Version, x.base.Redacted())
	}
	// A relative URL is relative to the repository's base, as Helm resolves it.
	ref, err := repo.ResolveReferenceURL(x.base.String(), cv.URLs[0])
	if err != nil {
		return nil, fmt.Errorf("chart %s %s: %w", chart, cv.Version, err)
	}
	u, err := url.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("chart %s %s: %w", chart, cv.Version, err)
	}
	if u.Host != x.base.Host || u.Scheme != x.base.Scheme {
		return nil, fmt.Errorf("chart %s %s: the index %w: %s is not on %s", chart, cv.Version, ErrOtherHost, u.Redacted(), x.base.Host)
	}
	return x.get(ctx, u, MaxChartBytes, "chart "+chart+" "+cv.Version)
}

// get reads one answer, failing once it is longer than limit.
func (x *index) get(ctx context.Context, u *url.URL, limit int64, what string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	switch {
	case x.auth.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+x.auth.BearerToken)
	case x.auth.Username != "" || x.auth.Password != "":
		req.SetBasicAuth(x.auth.Username, x.auth.Password)
	}
	resp, err := x.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL is named below, without user info
		}
		return nil, fmt.Errorf("%s from %s: %w", what, u.Redacted(), err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("%s from %s: %w (%s)", what, u.Redacted(), source.ErrAuthentication, resp.Status)
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%w: %s from %s: %s", ErrNotFound, what, u.Redacted(), resp.Status)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%s from %s: %s", what, u.Redacted(), resp.Status)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%s from %s: %d bytes, over %d: %w", what, u.Redacted(), resp.ContentLength, limit, source.ErrTooLarge)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s from %s: %w", what, u.Redacted(), err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s from %s: over %d bytes: %w", what, u.Redacted(), limit, source.ErrTooLarge)
	}
	return data, nil
}
