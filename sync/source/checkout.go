package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"golang.org/x/sync/singleflight"
)

// Checkout is a leased, verified checkout of one commit in the cache. Its files stay until
// Close; read them, never write them: other callers share the directory.
type Checkout struct {
	// Dir is the checkout's root directory; it holds no .git.
	Dir string
	// Revision is the resolved ref and commit.
	Revision Revision
	// Replaced, when set, says why a cached checkout of the commit was discarded and
	// fetched again: it failed verification (wraps ErrCheckoutMismatch). Callers report it.
	Replaced error
	// Commit is the subject and author of the commit checked out.
	Commit CommitInfo
	// Tag is the SHA-1 of the annotated tag object the ref was followed through; "" for a
	// branch, a commit or a lightweight tag. VerifySignature checks its signature too.
	Tag string

	tagFile string

	once    sync.Once
	release func()
}

// Close ends the lease, letting the cache evict the checkout. It is safe to call twice.
func (co *Checkout) Close() error {
	co.once.Do(co.release)
	return nil
}

// Checkout resolves ref with a remote check and returns the checkout of its commit,
// fetching it only when the commit is not cached. Concurrent callers wanting the same
// commit of the same URL share one fetch, which goes on for the others when one caller's
// context is cancelled and ends at the starting caller's deadline (else Options.Timeout). The caller must Close the result.
func (c *Client) Checkout(ctx context.Context, url string, ref Ref, auth Auth) (*Checkout, error) {
	req, err := c.prepare(url, ref, auth)
	if err != nil {
		return nil, err
	}
	// The remote check runs even for a pinned commit: it proves that this caller's
	// credentials reach the repository before it is handed a shared checkout.
	advertised, err := c.list(ctx, req)
	if err != nil {
		return nil, err
	}
	rev, name, err := resolve(ref, advertised)
	if err != nil {
		return nil, fmt.Errorf("resolving %s in %s: %w", ref, req.ep.redacted, err)
	}
	key := req.ep.cacheKey() + "/" + rev.Commit
	tag := annotatedTag(name, advertised)
	var replaced error
	// A lost race with eviction between the fetch and the lease is retried; it needs a
	// cache too small for the checkouts in use.
	for attempt := 0; attempt < 3; attempt++ {
		e, ok, err := c.acquireVerified(key)
		switch {
		case err != nil && attempt > 0:
			// What was just fetched does not verify: fetching again would not help.
			return nil, fmt.Errorf("checkout of %s in %s: %w", rev, req.ep.redacted, err)
		case err != nil:
			replaced = fmt.Errorf("checkout of %s in %s: %w; fetched again", rev, req.ep.redacted, err)
		case ok && tag != "" && !c.tagKept(req.ep.cacheKey(), tag):
			// The commit came through another ref: fetch the tag for its object.
			c.cache.release(e)
		case ok:
			if attempt == 0 {
				c.cacheHits.Add(1)
			}
			co := c.lease(e, rev)
			co.Replaced = replaced
			if tag != "" {
				co.Tag, co.tagFile = tag, c.tagFile(req.ep.cacheKey(), tag)
			}
			return co, nil
		}
		// The shared fetch outlives a caller that gives up, so the others still get it;
		// the starting caller's deadline, else Options.Timeout, bounds it.
		ch := c.flight.DoChan(key+"@"+tag, func() (any, error) {
			fctx, cancel := detach(ctx)
			defer cancel()
			return c.fetch(fctx, req, name, rev)
		})
		var res singleflight.Result
		select {
		case res = <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("fetching %s: %w", req.ep.redacted, ctx.Err())
		}
		if res.Err != nil && ctx.Err() != nil {
			// The fetch ran under the caller's deadline and failed when it did; go-git does
			// not always wrap the context's error, and both channels may be ready at once.
			return nil, fmt.Errorf("fetching %s: %w", req.ep.redacted, ctx.Err())
		}
		if res.Err != nil {
			return nil, res.Err
		}
		// The ref may have moved between the remote check and the fetch: the fetched
		// commit (and tag) is the newer truth.
		got := res.Val.(fetched)
		key, tag = got.key, got.tag
		rev.Commit = filepath.Base(key)
	}
	return nil, fmt.Errorf("checkout of %s in %s was evicted while fetching: the cache is too small", rev, req.ep.redacted)
}

func (c *Client) lease(e *cacheEntry, rev Revision) *Checkout {
	return &Checkout{Dir: e.dir, Revision: rev, Commit: e.commitInfo(), release: func() { c.cache.release(e) }}
}

// fetched is what a fetch got: the cache key of the commit and the annotated tag object
// kept for the ref ("" if none).
type fetched struct{ key, tag string }

// fetch fetches one commit into a temporary directory, checks it out, checks its symlinks,
// keeps the commit's Git objects beside it (and an annotated tag's object) and moves both
// into the cache, where the first lease proves the checkout against the objects.
func (c *Client) fetch(ctx context.Context, req request, name plumbing.ReferenceName, rev Revision) (fetched, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	c.fetches.Add(1)
	work, err := os.MkdirTemp(c.cache.tmpDir(), "fetch-")
	if err != nil {
		return fetched{}, fmt.Errorf("creating fetch directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(work) }() // New cleans what an error leaves behind
	tree, gitDir := filepath.Join(work, "tree"), filepath.Join(work, "git")
	for _, d := range []string{tree, gitDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return fetched{}, fmt.Errorf("creating fetch directory: %w", err)
		}
	}
	treeBudget, gitBudget := c.budgets()
	// A small object cache keeps memory flat however large the repository is: blobs
	// stream from the pack on disk to the worktree.
	// Objects over a MiB stream from the pack to the worktree instead of being read whole.
	bounds := c.bounds(req)
	storage := &boundedStorage{
		Storage: filesystem.NewStorageWithOptions(&limitFS{osfs.New(gitDir, osfs.WithBoundOS()), gitBudget},
			cache.NewObjectLRU(8*cache.MiByte), filesystem.Options{LargeObjectThreshold: 1 << 20}),
		lim: packLimits{maxObjectBytes: c.opts.MaxObjectBytes, maxObjects: uint32(min(20*c.opts.MaxFiles, 1<<31)),
			started: func() { bounds.packStarted.Store(true) }, exceeded: bounds.fail},
	}
	repo, err := git.Init(storage, &limitFS{osfs.New(tree, osfs.WithBoundOS()), treeBudget})
	if err != nil {
		return fetched{}, fmt.Errorf("initialising fetch: %w", err)
	}
	viaSSH, end := sshProxy(req.ep, bounds)
	defer end()
	commit, err := c.fetchCommit(withBounds(ctx, bounds), repo, req, name, rev, viaSSH)
	if err == nil {
		err = checkoutCommit(repo, commit)
	}
	if err == nil {
		err = os.Remove(filepath.Join(tree, ".git")) // go-git's gitdir pointer
	}
	if err == nil {
		err = keepObjects(repo, commit, filepath.Join(work, "objects"))
	}
	var tag string
	if err == nil {
		tag, err = c.keepTag(repo, req.ep.cacheKey(), name)
	}
	if lim := errors.Join(bounds.exceeded(), treeBudget.exceeded(), gitBudget.exceeded()); lim != nil {
		err = lim // The limit is the cause, whatever go-git made of the failed write.
	}
	if err == nil {
		err = verifyTree(tree)
	}
	if err != nil {
		return fetched{}, classify("fetching", req.ep.redacted, err)
	}
	key := req.ep.cacheKey() + "/" + commit.String()
	if err := c.cache.add(key, tree, filepath.Join(work, "objects"), treeBudget.bytes.Load()); err != nil {
		return fetched{}, err
	}
	return fetched{key: key, tag: tag}, nil
}

// budgets bounds the checkout by MaxRepoBytes and MaxFiles, and the fetched Git data by
// twice MaxRepoBytes: packs are usually smaller than the files they hold, but a pinned
// commit on a server that cannot serve it shallowly needs the history too.
func (c *Client) budgets() (tree, gitData *budget) {
	maxBytes, maxFiles := c.opts.MaxRepoBytes, int64(c.opts.MaxFiles)
	tree = &budget{maxBytes: maxBytes, maxFiles: maxFiles,
		tooLarge: func() error {
			return fmt.Errorf("%w: the checkout exceeds the size limit of %d bytes (MaxRepoBytes)", ErrTooLarge, maxBytes)
		},
		tooMany: func() error {
			return fmt.Errorf("%w: the checkout exceeds the file-count limit of %d files (MaxFiles)", ErrTooManyFiles, maxFiles)
		}}
	gitData = &budget{maxBytes: 2 * maxBytes,
		tooLarge: func() error {
			return fmt.Errorf("%w: the fetched Git data exceeds %d bytes, twice the size limit (MaxRepoBytes=%d)",
				ErrTooLarge, 2*maxBytes, maxBytes)
		}}
	return tree, gitData
}

// fetchCommit fetches what rev needs, shallow where the server allows, and returns the
// commit to check out.
func (c *Client) fetchCommit(ctx context.Context, repo *git.Repository, req request,
	name plumbing.ReferenceName, rev Revision, viaSSH transport.ProxyOptions) (plumbing.Hash, error) {
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{req.ep.url}}); err != nil {
		return plumbing.ZeroHash, err
	}
	opts := &git.FetchOptions{RemoteName: "origin", Auth: req.method, Tags: git.NoTags, Depth: 1,
		ProxyOptions: viaSSH}
	if name != "" {
		opts.RefSpecs = []config.RefSpec{config.RefSpec("+" + name + ":" + name)}
		if err := fetchAgainOnClosedInput(ctx, func() error { return repo.FetchContext(ctx, opts) }); err != nil {
			return plumbing.ZeroHash, err
		}
		ref, err := repo.Reference(name, true)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("%w: %s after fetch: %w", ErrRefNotFound, name, err)
		}
		return peel(repo, ref.Hash())
	}
	// A pinned commit: servers that allow it send just that commit; others need the
	// branches and tags, whose history holds it.
	opts.RefSpecs = []config.RefSpec{config.RefSpec(rev.Commit + ":refs/pinned")}
	fetch := func() error { return repo.FetchContext(ctx, opts) }
	err := fetchAgainOnClosedInput(ctx, fetch)
	if errors.Is(err, git.ErrExactSHA1NotSupported) {
		opts.Depth = 0
		opts.RefSpecs = []config.RefSpec{"+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"}
		err = fetchAgainOnClosedInput(ctx, fetch)
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	h := plumbing.NewHash(rev.Commit)
	if _, err := repo.CommitObject(h); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("%w: commit %s is not in the repository's branches or tags", ErrRefNotFound, rev.Commit)
	}
	return h, nil
}

func fetchErr(err error) error {
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil
	}
	return err
}

// fetchAgainOnClosedInput runs fetch, and once more when go-git failed it with "closing
// input: EOF": go-git v5 fails a fetch whose SSH server closed the channel before go-git
// closed its own side after asking for the pack (go-git issue 1685, fixed in v6 only). It
// fails before anything of the pack is read, so the same fetch again is safe; seen about
// one fetch in a few hundred against OpenSSH on a loaded machine.
func fetchAgainOnClosedInput(ctx context.Context, fetch func() error) error {
	err := fetchErr(fetch())
	if err != nil && ctx.Err() == nil && strings.HasSuffix(err.Error(), "closing input: EOF") {
		err = fetchErr(fetch())
	}
	return err
}

// peel follows annotated tags to the commit they tag.
func peel(repo *git.Repository, h plumbing.Hash) (plumbing.Hash, error) {
	for range 10 {
		tag, err := repo.TagObject(h)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return h, nil
		}
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if tag.TargetType != plumbing.CommitObject && tag.TargetType != plumbing.TagObject {
			return plumbing.ZeroHash, fmt.Errorf("%w: tag %s points to a %s, not a commit", ErrRefNotFound, tag.Name, tag.TargetType)
		}
		h = tag.Target
	}
	return plumbing.ZeroHash, fmt.Errorf("%w: tag chain too long", ErrRefNotFound)
}

func checkoutCommit(repo *git.Repository, commit plumbing.Hash) error {
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	if err := wt.Checkout(&git.CheckoutOptions{Hash: commit, Force: true}); err != nil {
		return fmt.Errorf("checking out %s: %w", commit, err)
	}
	return nil
}
