package render

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/landfall-dev/landfall/render/kustomize"
)

// countDNS makes every DNS query of the process go through a dialer that counts it and
// fails, for the duration of the test. Not parallel: it swaps net.DefaultResolver.
func countDNS(t *testing.T) *atomic.Int64 {
	var n atomic.Int64
	old := net.DefaultResolver
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		n.Add(1)
		return nil, errors.New("DNS is blocked in this test")
	}}
	t.Cleanup(func() { net.DefaultResolver = old })
	return &n
}

func TestChartRendersOfflineWithLookupAndGetHostByName(t *testing.T) {
	dns := countDNS(t)
	// The probe must be able to see a lookup, or its zero below would prove nothing.
	if _, err := net.LookupHost("landfall-dns-probe.invalid"); err == nil || dns.Load() == 0 {
		t.Fatalf("the DNS counter did not see a direct lookup (err %v)", err)
	}
	dns.Store(0)

	res, err := New().Render(context.Background(), Input{Root: repo, Path: "bad/offline-chart", Namespace: "shop", ReleaseName: "probe"})
	if err != nil {
		t.Fatal(err)
	}
	if got := dns.Load(); got != 0 {
		t.Errorf("rendering made %d DNS queries, want none", got)
	}
	if len(res.Objects) != 1 {
		t.Fatalf("got %d objects, want the probe ConfigMap", len(res.Objects))
	}
	data := res.Objects[0].Object["data"].(map[string]any)
	want := map[string]any{"lookup": "empty", "lookupAll": "{}", "host": ""}
	for k, v := range want {
		if data[k] != v {
			t.Errorf("data.%s = %q, want %q", k, data[k], v)
		}
	}
}

// server counts the requests it gets.
func server(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte(`{"type": "string"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestSchemaRefsAreNotFetched(t *testing.T) {
	srv, hits := server(t)
	schema := `{"type": "object", "properties": {"name": {"$ref": "` + srv.URL + `/name.json"}}}`

	// Helm's own validator would fetch it: that is what this test guards against.
	if err := chartutil.ValidateAgainstSingleSchema(map[string]any{"name": "x"}, []byte(schema)); err != nil || hits.Load() == 0 {
		t.Fatalf("expected Helm's validator to fetch the $ref (err %v, hits %d)", err, hits.Load())
	}
	hits.Store(0)

	root, _ := checkoutCopy(t)
	write(t, filepath.Join(root, "bad/schema-ref/values.schema.json"), schema)
	_, err := New().Render(context.Background(), Input{Root: root, Path: "bad/schema-ref", Namespace: "shop"})
	if err == nil || !strings.Contains(err.Error(), "references to other schema documents are not allowed") || !strings.Contains(err.Error(), "schema-ref") {
		t.Errorf("err = %v, want a refusal of the $ref naming the chart", err)
	}
	if hits.Load() != 0 {
		t.Errorf("the schema $ref was fetched %d times", hits.Load())
	}
}

func TestKustomizeRemoteReferencesAreNotFetched(t *testing.T) {
	srv, hits := server(t)
	root, _ := checkoutCopy(t)
	for _, ref := range []string{srv.URL + "/deployment.yaml", srv.URL + "/org/repo.git//base?ref=main"} {
		write(t, filepath.Join(root, "remote/kustomization.yaml"), "resources:\n- "+ref+"\n")
		_, err := New().Render(context.Background(), Input{Root: root, Path: "remote", Namespace: "shop"})
		if !errors.Is(err, kustomize.ErrRemote) || !strings.Contains(err.Error(), ref) {
			t.Errorf("err = %v, want ErrRemote naming %s", err, ref)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("remote references were fetched %d times", hits.Load())
	}
}
