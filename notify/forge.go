package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Provider is a Git forge's API. The names are API.
type Provider string

// Forges. Forgejo serves Gitea's API.
const (
	Gitea  Provider = "gitea"
	GitHub Provider = "github"
	GitLab Provider = "gitlab"
)

// Forge reports to the Git forge the events come from: a commit status for each
// Application environment's events (pending while it rolls, success when healthy, failure on
// a failed sync, analysis or rollback), and one comment per pull request for its preview,
// created when it is up, edited on every update, marked removed when it goes. Other events
// are taken and ignored.
type Forge struct {
	Provider Provider
	// APIURL is the API's base URL (https://gitea.example/api/v1); empty derives it from the
	// event's repository URL.
	APIURL string
	Token  string
	Client *http.Client
}

// maxDescription is GitHub's bound on a commit status description.
const maxDescription = 140

// Send reports ev on the forge, if it is a forge's concern.
func (f *Forge) Send(ctx context.Context, ev Event) error {
	if ev.RepositoryURL == "" {
		return nil
	}
	repo, err := f.locate(ev.RepositoryURL)
	if err != nil {
		return &PermanentError{err}
	}
	if ev.Preview != nil && ev.Preview.Number > 0 {
		return f.comment(ctx, repo, ev)
	}
	state, ok := CommitState(ev.Kind)
	if !ok || ev.Environment == "" || ev.Commit == "" {
		return nil
	}
	return f.status(ctx, repo, ev, state)
}

// CommitState maps an event to the commit status it sets: pending, success or failure.
func CommitState(k Kind) (string, bool) {
	switch k {
	case Synced, CanaryStep, Baking:
		return "pending", true
	case Promoted:
		return "success", true
	case RolledBack, AnalysisFailed, SyncFailed:
		return "failure", true
	}
	return "", false
}

// StatusContext is the context of an environment's commit statuses.
func StatusContext(ev Event) string {
	return "landfall/" + ev.Object.Name + "/" + ev.Environment
}

// forgeRepo is where a repository's API lives.
type forgeRepo struct {
	api string // base URL of the API, no trailing slash
	// path is owner/name (GitLab: group/subgroup/name).
	path string
}

// locate finds the API and repository path of a clone URL (https://, http://, ssh:// or
// scp-like git@host:owner/name.git).
func (f *Forge) locate(cloneURL string) (forgeRepo, error) {
	u, err := parseCloneURL(cloneURL)
	if err != nil {
		return forgeRepo{}, err
	}
	segs := strings.Split(strings.Trim(strings.TrimSuffix(u.Path, ".git"), "/"), "/")
	if len(segs) < 2 {
		return forgeRepo{}, fmt.Errorf("the repository URL has no owner/name path")
	}
	base := u.Scheme + "://" + u.Host
	var r forgeRepo
	switch f.Provider {
	case GitHub:
		r.path = strings.Join(segs[len(segs)-2:], "/")
		r.api = base + "/api/v3"
		if u.Host == "github.com" {
			r.api = "https://api.github.com"
		}
	case GitLab:
		r.path, r.api = strings.Join(segs, "/"), base+"/api/v4"
	case Gitea, "":
		// Gitea may be served under a sub-path: the path before owner/name is the prefix.
		prefix := strings.Join(segs[:len(segs)-2], "/")
		if prefix != "" {
			prefix = "/" + prefix
		}
		r.path, r.api = strings.Join(segs[len(segs)-2:], "/"), base+prefix+"/api/v1"
	default:
		return forgeRepo{}, fmt.Errorf("unknown forge %q", f.Provider)
	}
	if f.APIURL != "" {
		r.api = strings.TrimSuffix(f.APIURL, "/")
	}
	return r, nil
}

func parseCloneURL(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		// scp-like: [user@]host:path
		if at := strings.Index(s, "@"); at >= 0 {
			s = s[at+1:]
		}
		host, path, ok := strings.Cut(s, ":")
		if !ok {
			return nil, fmt.Errorf("the repository URL is neither a URL nor host:path")
		}
		return &url.URL{Scheme: "https", Host: host, Path: "/" + path}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("the repository URL does not parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		u.Scheme = "https" // ssh://, git://: the API is served over HTTPS
		u.Host = u.Hostname()
	}
	u.User = nil
	return u, nil
}

// status sets the commit status of ev's environment.
func (f *Forge) status(ctx context.Context, r forgeRepo, ev Event, state string) error {
	desc := truncate(string(ev.Kind)+": "+ev.Message, maxDescription)
	sha := url.PathEscape(ev.Commit)
	if f.Provider == GitLab {
		gl := map[string]string{"success": "success", "failure": "failed", "pending": "running"}[state]
		return f.call(ctx, http.MethodPost, r.api+"/projects/"+url.PathEscape(r.path)+"/statuses/"+sha,
			map[string]string{"state": gl, "name": StatusContext(ev), "description": desc}, nil)
	}
	return f.call(ctx, http.MethodPost, r.api+"/repos/"+r.path+"/statuses/"+sha,
		map[string]string{"state": state, "context": StatusContext(ev), "description": desc}, nil)
}

type forgeComment struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
}

// comment creates or edits the preview's one comment on its pull request.
func (f *Forge) comment(ctx context.Context, r forgeRepo, ev Event) error {
	marker := CommentMarker(ev)
	list, edit := f.commentURLs(r, ev.Preview.Number)
	existing, err := f.findComment(ctx, list, marker)
	if err != nil {
		return err
	}
	body := CommentBody(ev)
	switch {
	case existing != nil && existing.Body == body:
		return nil
	case existing != nil:
		method := http.MethodPatch
		if f.Provider == GitLab {
			method = http.MethodPut
		}
		return f.call(ctx, method, edit+"/"+strconv.FormatInt(existing.ID, 10), map[string]string{"body": body}, nil)
	case ev.Kind == PreviewRemoved:
		return nil // never up, nothing to mark
	}
	return f.call(ctx, http.MethodPost, list, map[string]string{"body": body}, nil)
}

// commentURLs returns the URL listing (and creating) a pull request's comments, and the
// prefix of one comment's URL.
func (f *Forge) commentURLs(r forgeRepo, number int64) (list, edit string) {
	n := strconv.FormatInt(number, 10)
	if f.Provider == GitLab {
		mr := r.api + "/projects/" + url.PathEscape(r.path) + "/merge_requests/" + n + "/notes"
		return mr, mr
	}
	return r.api + "/repos/" + r.path + "/issues/" + n + "/comments", r.api + "/repos/" + r.path + "/issues/comments"
}

// findComment pages through the comments for the one carrying marker. Gitea returns every
// comment at once; GitHub and GitLab page by 100, read up to 20 pages.
func (f *Forge) findComment(ctx context.Context, list, marker string) (*forgeComment, error) {
	for page := 1; page <= 20; page++ {
		var cs []forgeComment
		u := list
		if f.Provider != Gitea && f.Provider != "" {
			u += "?per_page=100&page=" + strconv.Itoa(page)
		}
		if err := f.call(ctx, http.MethodGet, u, nil, &cs); err != nil {
			return nil, err
		}
		for i := range cs {
			if strings.Contains(cs[i].Body, marker) {
				return &cs[i], nil
			}
		}
		if f.Provider == Gitea || f.Provider == "" || len(cs) < 100 {
			return nil, nil
		}
	}
	return nil, nil
}

// CommentMarker identifies the comment of one Preview on a pull request.
func CommentMarker(ev Event) string {
	return "<!-- landfall-preview " + ev.Object.Namespace + "/" + ev.Object.Name + " -->"
}

// CommentBody is the preview's comment as ev leaves it.
func CommentBody(ev Event) string {
	p := ev.Preview
	var b strings.Builder
	b.WriteString(CommentMarker(ev) + "\n")
	if ev.Kind == PreviewRemoved {
		fmt.Fprintf(&b, "### Landfall preview removed\n\nThe preview in namespace `%s` is removed: %s\n", p.Namespace,
			truncate(ev.Message, maxMessage))
		return b.String()
	}
	fmt.Fprintf(&b, "### Landfall preview\n\n| | |\n|---|---|\n| Namespace | `%s` |\n", p.Namespace)
	if p.URL != "" {
		fmt.Fprintf(&b, "| URL | %s |\n", p.URL)
	}
	fmt.Fprintf(&b, "| Revision | `%s` |\n| Health | %s |\n", ev.Revision, or(p.Health, "Unknown"))
	return b.String()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// call sends a JSON request with the token and decodes a JSON answer into out.
func (f *Forge) call(ctx context.Context, method, u string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return &PermanentError{err}
		}
	}
	h := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	switch f.Provider {
	case GitHub:
		h.Set("Authorization", "Bearer "+f.Token)
		h.Set("Accept", "application/vnd.github+json")
	case GitLab:
		h.Set("PRIVATE-TOKEN", f.Token)
	default:
		h.Set("Authorization", "token "+f.Token)
	}
	c := f.Client
	if c == nil {
		c = defaultClient
	}
	resp, err := post(ctx, c, method, u, h, body, []string{f.Token})
	if err != nil {
		return fmt.Errorf("forge %s: %w", strings.ToLower(method), err)
	}
	if out != nil {
		if err := json.Unmarshal(resp, out); err != nil {
			return fmt.Errorf("forge %s: the answer is not the JSON expected", strings.ToLower(method))
		}
	}
	return nil
}
