package render

import (
	"context"
	"sync"
	"testing"
)

// TestConcurrentRenders renders every fixture from many goroutines on one Engine, as
// reconcile workers do; run with -race to check the cache and krusty's serialisation.
func TestConcurrentRenders(t *testing.T) {
	e := New(WithCacheSize(3)) // small, so entries are evicted while others read them
	want := map[string]string{}
	for _, f := range fixtures() {
		res, err := New().Render(context.Background(), f.in)
		if err != nil {
			t.Fatal(err)
		}
		want[f.name] = res.Digest
	}
	var wg sync.WaitGroup
	for i := range 8 {
		for _, f := range fixtures() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				in := f.in
				if i%2 == 1 {
					in.Revision = "" // forces the dependency check path
				}
				res, err := e.Render(context.Background(), in)
				if err != nil {
					t.Error(err)
					return
				}
				if res.Digest != want[f.name] {
					t.Errorf("%s: digest %s, want %s", f.name, res.Digest, want[f.name])
				}
			}()
		}
	}
	wg.Wait()
}
