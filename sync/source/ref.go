package source

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/plumbing"
)

// Ref selects a revision: exactly one field is set.
type Ref struct {
	// Branch follows the tip of a branch.
	Branch string
	// Tag pins a tag.
	Tag string
	// SemVer is a range over tags (e.g. ">=1.2 <2"); the highest matching tag wins.
	SemVer string
	// Commit pins a full 40-character SHA-1.
	Commit string
	// Name follows any ref by its full name, such as refs/pull/7/head: pull-request refs
	// are neither branches nor tags, and servers need not let a commit be fetched by hash.
	Name string
}

// Revision is a resolved ref: the name the user asked for (branch or tag; empty for a
// commit) and the commit it points to; or, for a chart or an OCI artifact, the version or
// tag and the digest of its content (Commit then is empty).
type Revision struct {
	// Ref is the branch or tag name, without refs/heads/ or refs/tags/, or the full name
	// of a ref given by name; a chart's version; an artifact's tag.
	Ref string
	// Commit is the full SHA-1 of the commit.
	Commit string
	// Digest is "sha256:<hex>" of a chart archive or an artifact's content.
	Digest string
}

// ID identifies the content: the commit, or the digest.
func (r Revision) ID() string {
	if r.Digest != "" {
		return r.Digest
	}
	return r.Commit
}

// String formats the revision as "<ref>@sha1:<commit>", or "sha1:<commit>" for a pinned
// commit, the form the Repository status shows; "<version>@sha256:<hex>" for a chart.
func (r Revision) String() string {
	if r.Digest != "" && r.Ref == "" {
		return r.Digest
	}
	if r.Digest != "" {
		return r.Ref + "@" + r.Digest
	}
	if r.Ref == "" {
		return "sha1:" + r.Commit
	}
	return r.Ref + "@sha1:" + r.Commit
}

var fullSHA1 = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Validate checks that exactly one field is set and that it is well formed.
func (r Ref) Validate() error {
	n := 0
	for _, v := range []string{r.Branch, r.Tag, r.SemVer, r.Commit, r.Name} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%w: set exactly one of branch, tag, semver, commit or name", ErrInvalidRef)
	}
	switch {
	case r.Name != "":
		return validFullName(r.Name)
	case r.Branch != "":
		return validName("branch", r.Branch, "refs/heads/")
	case r.Tag != "":
		return validName("tag", r.Tag, "refs/tags/")
	case r.SemVer != "":
		if _, err := semver.NewConstraint(r.SemVer); err != nil {
			return fmt.Errorf("%w: semver range %q: %w", ErrInvalidRef, r.SemVer, err)
		}
	case !fullSHA1.MatchString(r.Commit):
		return fmt.Errorf("%w: commit %q is not a full lowercase 40-character SHA-1", ErrInvalidRef, r.Commit)
	}
	return nil
}

func validName(kind, name, prefix string) error {
	if strings.HasPrefix(name, "-") || strings.HasPrefix(name, "refs/") {
		return fmt.Errorf("%w: %s %q: give the short name, not starting with '-' or refs/", ErrInvalidRef, kind, name)
	}
	if err := plumbing.ReferenceName(prefix + name).Validate(); err != nil {
		return fmt.Errorf("%w: %s %q: %w", ErrInvalidRef, kind, name, err)
	}
	return nil
}

// validFullName accepts a full ref name below refs/ that Git itself would accept.
func validFullName(name string) error {
	if !strings.HasPrefix(name, "refs/") || strings.HasSuffix(name, "^{}") {
		return fmt.Errorf("%w: ref name %q: give the full name, starting with refs/", ErrInvalidRef, name)
	}
	if err := plumbing.ReferenceName(name).Validate(); err != nil {
		return fmt.Errorf("%w: ref name %q: %w", ErrInvalidRef, name, err)
	}
	return nil
}

// String names the ref for messages, e.g. `branch "main"`.
func (r Ref) String() string {
	switch {
	case r.Branch != "":
		return fmt.Sprintf("branch %q", r.Branch)
	case r.Tag != "":
		return fmt.Sprintf("tag %q", r.Tag)
	case r.SemVer != "":
		return fmt.Sprintf("semver %q", r.SemVer)
	case r.Commit != "":
		return fmt.Sprintf("commit %s", r.Commit)
	case r.Name != "":
		return fmt.Sprintf("ref %q", r.Name)
	}
	return "no ref"
}

// resolve finds the revision of a validated ref in the advertised refs, and the full ref
// name to fetch (empty for a commit). Annotated tags resolve to the commit they peel to.
func resolve(ref Ref, advertised refMap) (Revision, plumbing.ReferenceName, error) {
	switch {
	case ref.Commit != "":
		return Revision{Commit: ref.Commit}, "", nil
	case ref.Branch != "":
		name := plumbing.NewBranchReferenceName(ref.Branch)
		if h, ok := advertised[name.String()]; ok {
			return Revision{Ref: ref.Branch, Commit: h}, name, nil
		}
	case ref.Tag != "":
		name := plumbing.NewTagReferenceName(ref.Tag)
		if h, ok := advertised.commit(name.String()); ok {
			return Revision{Ref: ref.Tag, Commit: h}, name, nil
		}
	case ref.SemVer != "":
		return resolveSemVer(ref.SemVer, advertised)
	case ref.Name != "":
		if h, ok := advertised.commit(ref.Name); ok {
			return Revision{Ref: ref.Name, Commit: h}, plumbing.ReferenceName(ref.Name), nil
		}
	}
	return Revision{}, "", fmt.Errorf("%w: %s", ErrRefNotFound, ref)
}

func resolveSemVer(rng string, advertised refMap) (Revision, plumbing.ReferenceName, error) {
	c, err := semver.NewConstraint(rng)
	if err != nil {
		return Revision{}, "", fmt.Errorf("%w: semver range %q: %w", ErrInvalidRef, rng, err)
	}
	var best *semver.Version
	var bestTag string
	for name := range advertised {
		tag, ok := strings.CutPrefix(name, "refs/tags/")
		if !ok || strings.HasSuffix(tag, "^{}") {
			continue
		}
		v, err := semver.NewVersion(tag)
		if err != nil || !c.Check(v) {
			continue
		}
		// Equal versions spelled differently (v1.0.0, 1.0.0): the lexically smaller
		// tag wins so the choice does not depend on map order.
		if best == nil || v.GreaterThan(best) || (v.Equal(best) && tag < bestTag) {
			best, bestTag = v, tag
		}
	}
	if best == nil {
		return Revision{}, "", fmt.Errorf("%w: no tag matches semver %q", ErrRefNotFound, rng)
	}
	name := plumbing.NewTagReferenceName(bestTag)
	h, _ := advertised.commit(name.String())
	return Revision{Ref: bestTag, Commit: h}, name, nil
}

// refMap maps advertised ref names to hashes; annotated tags also appear peeled, as
// "refs/tags/<name>^{}" pointing at their commit.
type refMap map[string]string

// commit returns the commit a ref points to, peeling an annotated tag.
func (m refMap) commit(name string) (string, bool) {
	if h, ok := m[name+"^{}"]; ok {
		return h, true
	}
	h, ok := m[name]
	return h, ok
}

// match returns the refs whose names match any of the globs (path.Match syntax, so "*"
// stays within one path segment), peeled to commits.
func (m refMap) match(globs []string) (map[string]string, error) {
	if err := validGlobs(globs); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for name := range m {
		if strings.HasSuffix(name, "^{}") {
			continue
		}
		for _, g := range globs {
			if ok, _ := path.Match(g, name); ok {
				out[name], _ = m.commit(name)
				break
			}
		}
	}
	return out, nil
}

func validGlobs(globs []string) error {
	for _, g := range globs {
		if _, err := path.Match(g, ""); err != nil {
			return fmt.Errorf("%w: glob %q: %w", ErrInvalidRef, g, err)
		}
	}
	return nil
}
