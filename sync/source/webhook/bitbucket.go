package webhook

import (
	"errors"
	"fmt"
)

// bitbucketPayload covers Bitbucket Cloud (repo:push, pullrequest:*) and Bitbucket Data
// Center (repo:refs_changed, pr:*), which share the X-Event-Key header.
type bitbucketPayload struct {
	Push *struct {
		Changes []struct {
			New *bbCloudRef `json:"new"`
			Old *bbCloudRef `json:"old"`
		} `json:"changes"`
	} `json:"push"`
	PullRequest *struct {
		ID     int `json:"id"`
		Source struct {
			Branch struct {
				Name string `json:"name"`
			} `json:"branch"`
		} `json:"source"`
	} `json:"pullrequest"`
	Changes []struct {
		Ref struct {
			ID string `json:"id"`
		} `json:"ref"`
	} `json:"changes"`
	ServerPR *struct {
		ID      int `json:"id"`
		FromRef struct {
			ID string `json:"id"`
		} `json:"fromRef"`
	} `json:"pullRequest"`
	Repository struct {
		Links struct {
			HTML struct {
				Href string `json:"href"`
			} `json:"html"`
			Clone []struct {
				Href string `json:"href"`
			} `json:"clone"`
		} `json:"links"`
	} `json:"repository"`
}

type bbCloudRef struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

var bitbucketActions = map[string]Action{
	"pullrequest:created": Opened, "pullrequest:updated": Synchronize,
	"pullrequest:fulfilled": Closed, "pullrequest:rejected": Closed,
	"pr:opened": Opened, "pr:from_ref_updated": Synchronize,
	"pr:merged": Closed, "pr:declined": Closed, "pr:deleted": Closed,
}

func parseBitbucket(h Header, body []byte) (Event, error) {
	key := h.Get("X-Event-Key")
	if key == "diagnostics:ping" {
		return Event{Kind: Ping}, nil
	}
	var p bitbucketPayload
	if err := decode(body, &p); err != nil {
		return Event{}, err
	}
	ev := Event{Kind: Other, RepositoryURLs: nonEmpty(p.Repository.Links.HTML.Href)}
	for _, c := range p.Repository.Links.Clone {
		ev.RepositoryURLs = append(ev.RepositoryURLs, nonEmpty(c.Href)...)
	}
	switch {
	case key == "repo:push":
		ref, err := bitbucketCloudPushRef(p)
		if err != nil {
			return Event{}, err
		}
		ev.Kind, ev.Ref = Push, ref
	case key == "repo:refs_changed":
		if len(p.Changes) == 0 {
			return Event{}, errors.New("refs_changed without changes")
		}
		if err := validRef(p.Changes[0].Ref.ID); err != nil {
			return Event{}, err
		}
		ev.Kind, ev.Ref = Push, p.Changes[0].Ref.ID
	case bitbucketActions[key] != "":
		return bitbucketPR(key, p, ev)
	}
	return ev, nil
}

func bitbucketCloudPushRef(p bitbucketPayload) (string, error) {
	if p.Push == nil || len(p.Push.Changes) == 0 {
		return "", errors.New("push without changes")
	}
	r := p.Push.Changes[0].New
	if r == nil {
		r = p.Push.Changes[0].Old // a deleted branch or tag
	}
	if r == nil || r.Name == "" {
		return "", errors.New("push change without a ref name")
	}
	prefix := map[string]string{"branch": "refs/heads/", "named_branch": "refs/heads/", "tag": "refs/tags/", "annotated_tag": "refs/tags/"}[r.Type]
	if prefix == "" {
		return "", fmt.Errorf("push change of unknown type %q", truncate(r.Type))
	}
	ref := prefix + r.Name
	return ref, validRef(ref)
}

func bitbucketPR(key string, p bitbucketPayload, ev Event) (Event, error) {
	var id int
	var ref string
	switch {
	case p.PullRequest != nil:
		id, ref = p.PullRequest.ID, "refs/heads/"+p.PullRequest.Source.Branch.Name
	case p.ServerPR != nil:
		id, ref = p.ServerPR.ID, p.ServerPR.FromRef.ID
	}
	if id <= 0 {
		return Event{}, errors.New("pull request without a positive id")
	}
	if err := validRef(ref); err != nil || ref == "refs/heads/" {
		return Event{}, fmt.Errorf("pull request without a source ref")
	}
	ev.Kind, ev.PullRequest, ev.Action, ev.Ref = PullRequest, id, bitbucketActions[key], ref
	return ev, nil
}
