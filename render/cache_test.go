package render

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestCache(t *testing.T) {
	root, _ := checkoutCopy(t)
	in := Input{Root: root, Path: "plain/app", Namespace: "shop-plain", Revision: "r1"}
	e := New()
	render := func(in Input) *Result {
		t.Helper()
		res, err := e.Render(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := render(in)
	if first.Cached {
		t.Fatal("first render came from the cache")
	}

	t.Run("same revision is a hit and hands out copies", func(t *testing.T) {
		first.Objects[0].SetName("changed-by-the-caller")
		res := render(in)
		if !res.Cached || res.Digest == "" {
			t.Fatalf("cached = %v", res.Cached)
		}
		if res.Objects[0].GetName() == "changed-by-the-caller" {
			t.Error("a caller's change to a result leaked into the cache")
		}
	})

	t.Run("a new revision that touches nothing read is a hit", func(t *testing.T) {
		writeFiles(t, root, map[string]string{"kustomize/base/unrelated.yaml": "x: 1\n"})
		in.Revision = "r2"
		if res := render(in); !res.Cached {
			t.Error("re-rendered though no input changed")
		}
	})

	t.Run("a changed file is a miss", func(t *testing.T) {
		writeFiles(t, root, map[string]string{"plain/app/config/settings.json": `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings"},"data":{"retries":"5"}}`})
		in.Revision = "r3"
		res := render(in)
		if res.Cached || res.Digest == first.Digest {
			t.Errorf("cached = %v, digest unchanged = %v", res.Cached, res.Digest == first.Digest)
		}
	})

	t.Run("a new file in a folder read is a miss", func(t *testing.T) {
		writeFiles(t, root, map[string]string{"plain/app/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n"})
		in.Revision = "r4"
		if res := render(in); res.Cached || len(res.Objects) != 7 {
			t.Errorf("cached = %v, %d objects", res.Cached, len(res.Objects))
		}
	})

	t.Run("an unknown revision is checked against the checkout", func(t *testing.T) {
		in.Revision = ""
		if res := render(in); !res.Cached {
			t.Error("unchanged checkout with no revision was re-rendered")
		}
		if err := os.Remove(filepath.Join(root, "plain/app/extra.yaml")); err != nil {
			t.Fatal(err)
		}
		if res := render(in); res.Cached || len(res.Objects) != 6 {
			t.Errorf("cached = %v, %d objects after removing a file", res.Cached, len(res.Objects))
		}
	})

	t.Run("other environment inputs are another entry", func(t *testing.T) {
		other := in
		other.Namespace = "elsewhere"
		other.Policy.AllowedNamespaces = []string{"shop-plain"}
		if res := render(other); res.Cached {
			t.Error("a different namespace was answered from the cache")
		}
	})
}

func TestCacheIsBounded(t *testing.T) {
	e := New(WithCacheSize(2))
	for _, p := range []string{"kustomize/overlays/staging", "kustomize/overlays/production", "plain/app", "kustomize/overlays/staging"} {
		ns := map[string]string{"plain/app": "shop-plain", "kustomize/overlays/production": "shop-prod"}[p]
		if ns == "" {
			ns = "shop-staging"
		}
		if _, err := e.Render(context.Background(), Input{Root: repo, Path: p, Namespace: ns, Revision: "r1"}); err != nil {
			t.Fatal(err)
		}
	}
	if s := e.Stats(); s.Renders != 4 || s.Hits != 0 {
		t.Errorf("stats = %+v, want the first render evicted and rendered again (4 renders, 0 hits)", s)
	}
}

func TestCacheOff(t *testing.T) {
	e := New(WithCacheSize(0))
	in := Input{Root: repo, Path: "plain/app", Namespace: "shop-plain", Revision: "r1"}
	for range 2 {
		if _, err := e.Render(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	if s := e.Stats(); s.Renders != 2 {
		t.Errorf("stats = %+v, want 2 renders", s)
	}
}
