package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// A ref that moves to a commit that does not descend from the one deployed (a force-push
// that rewinds a branch, a tag moved) is a decision for the user, not an update. Descends
// proves or disproves the descent: from the commit object kept beside the checkout when
// its parent is the old commit (one commit pushed, the common case), else from the
// remote's history, fetched shallowly and deepened until the old commit or the root is
// reached.

// ancestryDepths are the history depths Descends fetches in turn; 0 is the whole history.
var ancestryDepths = []int{16, 256, 0}

// Selects reports whether rev could have come from r as it is now: the same branch, tag
// or ref name, or a tag in the semver range. A revision that r no longer selects came from
// an earlier spec, so moving away from it is the user's choice, never a rewind.
func (r Ref) Selects(rev Revision) bool {
	switch {
	case r.Branch != "":
		return rev.Ref == r.Branch
	case r.Tag != "":
		return rev.Ref == r.Tag
	case r.Name != "":
		return rev.Ref == r.Name
	case r.SemVer != "":
		c, err := semver.NewConstraint(r.SemVer)
		v, verr := semver.NewVersion(rev.Ref)
		return err == nil && verr == nil && c.Check(v)
	}
	return false
}

// Descends reports whether commit is ancestor or descends from it, in the history of ref
// (which must resolve to commit, or to a descendant of it) at url.
func (c *Client) Descends(ctx context.Context, url string, ref Ref, auth Auth, ancestor, commit string) (bool, error) {
	if !fullSHA1.MatchString(ancestor) || !fullSHA1.MatchString(commit) {
		return false, fmt.Errorf("%w: ancestry of %q and %q: not full SHA-1s", ErrInvalidRef, ancestor, commit)
	}
	if ancestor == commit {
		return true, nil
	}
	req, err := c.prepare(url, ref, auth)
	if err != nil {
		return false, err
	}
	if parents, ok := c.keptParents(req.ep.cacheKey() + "/" + commit); ok && len(parents) == 1 && parents[0].String() == ancestor {
		return true, nil
	}
	advertised, err := c.list(ctx, req)
	if err != nil {
		return false, err
	}
	_, name, err := resolve(ref, advertised)
	if err != nil || name == "" {
		return false, fmt.Errorf("resolving %s in %s: %w", ref, req.ep.redacted, errors.Join(err, ErrInvalidRef))
	}
	for _, depth := range ancestryDepths {
		found, complete, err := c.searchHistory(ctx, req, name, depth, ancestor, commit)
		if err != nil {
			return false, classify("fetching the history of", req.ep.redacted, err)
		}
		if found || complete {
			return found, nil
		}
	}
	return false, fmt.Errorf("%w: commit %s is not in the history of %s in %s", ErrRefNotFound, commit, ref, req.ep.redacted)
}

// keptParents reads the parents of a cached commit from its kept objects.
func (c *Client) keptParents(key string) ([]plumbing.Hash, bool) {
	objs, err := readObjects(c.cache.dir(key)+objectsSuffix, c.opts.MaxRepoBytes)
	if err != nil {
		return nil, false
	}
	o, ok := objs[plumbing.NewHash(path.Base(key))]
	if !ok || o.Type() != plumbing.CommitObject {
		return nil, false
	}
	var cm object.Commit
	if cm.Decode(o) != nil {
		return nil, false
	}
	return cm.ParentHashes, true
}

// searchHistory fetches depth commits of name (0: all) into a bare repository and walks
// back from commit. found says ancestor was reached; complete says every path reached a
// root commit, so a miss is final.
func (c *Client) searchHistory(ctx context.Context, req request, name plumbing.ReferenceName, depth int,
	ancestor, commit string) (found, complete bool, err error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	work, err := os.MkdirTemp(c.cache.tmpDir(), "history-")
	if err != nil {
		return false, false, err
	}
	defer func() { _ = os.RemoveAll(work) }()
	_, gitBudget := c.budgets()
	bounds := c.bounds(req)
	storage := &boundedStorage{
		Storage: filesystem.NewStorageWithOptions(&limitFS{osfs.New(work, osfs.WithBoundOS()), gitBudget},
			cache.NewObjectLRU(8*cache.MiByte), filesystem.Options{LargeObjectThreshold: 1 << 20}),
		lim: packLimits{maxObjectBytes: c.opts.MaxObjectBytes, maxObjects: uint32(min(20*c.opts.MaxFiles, 1<<31)),
			started: func() { bounds.packStarted.Store(true) }},
	}
	repo, err := git.Init(storage, nil)
	if err != nil {
		return false, false, err
	}
	remote, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{req.ep.url}})
	if err != nil {
		return false, false, err
	}
	err = fetchAgainOnClosedInput(ctx, func() error {
		return remote.FetchContext(withBounds(ctx, bounds), &git.FetchOptions{
			RefSpecs: []config.RefSpec{config.RefSpec("+" + name + ":" + name)},
			Auth:     req.method, Tags: git.NoTags, Depth: depth,
		})
	})
	if lim := errors.Join(bounds.exceeded(), gitBudget.exceeded()); lim != nil {
		err = lim
	}
	if err != nil {
		return false, false, err
	}
	return walkHistory(repo, plumbing.NewHash(commit), plumbing.NewHash(ancestor))
}

// walkHistory searches the ancestors of from for target. A parent missing from the
// repository is a shallow boundary: the search is then incomplete.
func walkHistory(repo *git.Repository, from, target plumbing.Hash) (found, complete bool, err error) {
	if _, err := repo.CommitObject(from); err != nil {
		return false, false, nil // the ref moved on by more than the depth: deepen
	}
	complete = true
	seen := map[plumbing.Hash]bool{from: true}
	pending := []plumbing.Hash{from}
	for len(pending) > 0 {
		h := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		if h == target {
			return true, true, nil
		}
		cm, err := repo.CommitObject(h)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			complete = false
			continue
		}
		if err != nil {
			return false, false, err
		}
		for _, p := range cm.ParentHashes {
			if !seen[p] {
				seen[p] = true
				pending = append(pending, p)
			}
		}
	}
	return false, complete, nil
}
