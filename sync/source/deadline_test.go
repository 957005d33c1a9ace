package source_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/landfall-dev/landfall/sync/source"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// TestCallersDeadlineBoundsTheSharedFetch: a fetch started by a caller with a deadline
// (a Repository's spec.timeout) ends at that deadline, not at the Client's default: the
// server sees the stalled fetch's request end although Options.Timeout is an hour.
func TestCallersDeadlineBoundsTheSharedFetch(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{Anonymous: true})
	srv.Commit(t, "main", map[string]string{"app.yaml": "a"})
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	var stalled, ended atomic.Int32
	release := make(chan struct{})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
			stalled.Add(1)
			// Read the request whole: only then does the server notice a disconnect.
			_, _ = io.Copy(io.Discard, r.Body)
			select { // a server that takes the fetch and never answers
			case <-r.Context().Done():
				ended.Add(1)
			case <-release:
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	t.Cleanup(func() { close(release) }) // runs first: Close waits for open requests

	c := newClient(t, source.Options{Timeout: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = c.Checkout(ctx, front.URL+target.Path, source.Ref{Branch: "main"}, source.Auth{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Checkout against a stalled fetch = %v; want the caller's deadline", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for ended.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling for the server's view, not waiting for time
	}
	if stalled.Load() == 0 || ended.Load() == 0 {
		t.Fatalf("the stalled fetch (%d started) is still open: the caller's deadline does not bound it", stalled.Load())
	}
}
