package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// decode unmarshals a JSON payload; GitHub may also send it form-encoded as payload=….
func decode(body []byte, v any) error {
	if rest, ok := bytes.CutPrefix(body, []byte("payload=")); ok {
		q, err := url.ParseQuery("payload=" + string(rest))
		if err != nil {
			return fmt.Errorf("form body: %w", err)
		}
		body = []byte(q.Get("payload"))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("JSON body: %w", err)
	}
	return nil
}

// hubRepo is the repository object of GitHub, Gitea and Forgejo payloads.
type hubRepo struct {
	CloneURL string `json:"clone_url"`
	SSHURL   string `json:"ssh_url"`
	HTMLURL  string `json:"html_url"`
}

func (r hubRepo) urls() []string { return nonEmpty(r.CloneURL, r.SSHURL, r.HTMLURL) }

type hubPayload struct {
	Ref         string  `json:"ref"`
	Action      string  `json:"action"`
	Number      int     `json:"number"`
	Repository  hubRepo `json:"repository"`
	PullRequest *struct {
		Number int `json:"number"`
	} `json:"pull_request"`
}

func parseGitHub(h Header, body []byte) (Event, error) {
	return parseHub(h.Get("X-GitHub-Event"), body, map[string]Action{
		"opened": Opened, "synchronize": Synchronize, "reopened": Reopened, "closed": Closed,
	}, "pull_request")
}

// parseGitea reads Gitea and Forgejo payloads, which follow GitHub's shape with their own
// event header and action names.
func parseGitea(eventHeaders ...string) func(Header, []byte) (Event, error) {
	return func(h Header, body []byte) (Event, error) {
		var event string
		for _, k := range eventHeaders {
			if event = h.Get(k); event != "" {
				break
			}
		}
		return parseHub(event, body, map[string]Action{
			"opened": Opened, "synchronized": Synchronize, "reopened": Reopened, "closed": Closed,
		}, "pull_request", "pull_request_sync")
	}
}

func parseHub(event string, body []byte, actions map[string]Action, prEvents ...string) (Event, error) {
	if event == "" {
		return Event{}, errors.New("no event header")
	}
	var p hubPayload
	if err := decode(body, &p); err != nil {
		return Event{}, err
	}
	ev := Event{Kind: Other, RepositoryURLs: p.Repository.urls()}
	switch {
	case event == "ping":
		ev.Kind = Ping
	case event == "push":
		if err := validRef(p.Ref); err != nil {
			return Event{}, fmt.Errorf("push: %w", err)
		}
		ev.Kind, ev.Ref = Push, p.Ref
	case contains(prEvents, event):
		n := p.Number
		if n == 0 && p.PullRequest != nil {
			n = p.PullRequest.Number
		}
		if n <= 0 {
			return Event{}, errors.New("pull request without a positive number")
		}
		ev.Kind, ev.PullRequest, ev.Action = PullRequest, n, action(actions, p.Action)
		ev.Ref = fmt.Sprintf("refs/pull/%d/head", n)
	}
	return ev, nil
}

type gitLabPayload struct {
	Ref     string `json:"ref"`
	Project struct {
		HTTP string `json:"git_http_url"`
		SSH  string `json:"git_ssh_url"`
		Web  string `json:"web_url"`
	} `json:"project"`
	Attrs struct {
		IID    int    `json:"iid"`
		Action string `json:"action"`
	} `json:"object_attributes"`
}

func parseGitLab(h Header, body []byte) (Event, error) {
	event := h.Get("X-Gitlab-Event")
	if event == "" {
		return Event{}, errors.New("no X-Gitlab-Event header")
	}
	var p gitLabPayload
	if err := decode(body, &p); err != nil {
		return Event{}, err
	}
	ev := Event{Kind: Other, RepositoryURLs: nonEmpty(p.Project.HTTP, p.Project.SSH, p.Project.Web)}
	switch event {
	case "Push Hook", "Tag Push Hook":
		if err := validRef(p.Ref); err != nil {
			return Event{}, fmt.Errorf("push: %w", err)
		}
		ev.Kind, ev.Ref = Push, p.Ref
	case "Merge Request Hook":
		if p.Attrs.IID <= 0 {
			return Event{}, errors.New("merge request without a positive iid")
		}
		ev.Kind, ev.PullRequest = PullRequest, p.Attrs.IID
		ev.Action = action(map[string]Action{
			"open": Opened, "update": Synchronize, "reopen": Reopened, "close": Closed, "merge": Closed,
		}, p.Attrs.Action)
		ev.Ref = fmt.Sprintf("refs/merge-requests/%d/head", p.Attrs.IID)
	}
	return ev, nil
}

// genericPayload is the optional body of a generic webhook.
type genericPayload struct {
	Ref string `json:"ref"`
}

// parseGeneric accepts an empty body or a JSON object with an optional "ref": a generic
// hook only says "check again".
func parseGeneric(_ Header, body []byte) (Event, error) {
	ev := Event{Kind: Push}
	if len(bytes.TrimSpace(body)) == 0 {
		return ev, nil
	}
	var p genericPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return Event{}, fmt.Errorf("JSON body: %w", err)
	}
	if p.Ref != "" {
		if err := validRef(p.Ref); err != nil {
			return Event{}, err
		}
	}
	ev.Ref = p.Ref
	return ev, nil
}

// validRef accepts full ref names, bounded and free of control characters.
func validRef(ref string) error {
	switch {
	case !strings.HasPrefix(ref, "refs/"):
		return fmt.Errorf("ref %q is not a full ref name", truncate(ref))
	case len(ref) > 1024:
		return errors.New("ref longer than 1024 bytes")
	case strings.ContainsFunc(ref, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return errors.New("ref has control characters")
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func action(known map[string]Action, a string) Action {
	if v, ok := known[a]; ok {
		return v
	}
	return OtherAction
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func nonEmpty(vals ...string) []string {
	var out []string
	for _, v := range vals {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}
