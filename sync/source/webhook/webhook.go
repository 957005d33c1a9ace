// Package webhook verifies and parses push and pull-request webhooks from Git hosts:
// GitHub, GitLab, Gitea, Forgejo, Bitbucket (Cloud and Data Center) and a generic HMAC
// sender. Parsing is pure: headers and body in, an Event or a sentinel error out, so an
// HTTP receiver is a thin adapter (serve with NewServer, read the body with Bodies, call
// Parse, answer with StatusCode).
//
// The signature is checked before the body is parsed, with constant-time comparison. The
// payload is never trusted as the revision: an Event only tells which repository to check
// again, and the fetch decides what the commit is.
package webhook

import (
	"errors"
	"fmt"
	"io"
)

// Provider names the sender of a webhook.
type Provider string

// Providers Parse recognises.
const (
	GitHub    Provider = "github"
	GitLab    Provider = "gitlab"
	Gitea     Provider = "gitea"
	Forgejo   Provider = "forgejo"
	Bitbucket Provider = "bitbucket"
	Generic   Provider = "generic"
)

// Kind is what happened.
type Kind string

// Event kinds.
const (
	Push        Kind = "push"
	PullRequest Kind = "pull_request"
	Ping        Kind = "ping"
	Other       Kind = "other"
)

// Action is what happened to a pull request.
type Action string

// Pull-request actions; hosts' own names are mapped onto these.
const (
	Opened      Action = "opened"
	Synchronize Action = "synchronize"
	Reopened    Action = "reopened"
	Closed      Action = "closed"
	OtherAction Action = "other"
)

// Event is a verified webhook. Everything but Provider comes from the payload: use it to
// pick what to refresh, never as the revision to deploy.
type Event struct {
	Provider Provider
	Kind     Kind
	// Ref is the full ref concerned, when the payload names one: refs/heads/main,
	// refs/tags/v1, refs/pull/7/head, refs/merge-requests/7/head.
	Ref string
	// PullRequest is the pull or merge request number of a PullRequest event.
	PullRequest int
	// Action is set for PullRequest events.
	Action Action
	// RepositoryURLs are the repository's URLs as the payload gives them.
	RepositoryURLs []string
}

// Sentinel errors; StatusCode maps them to HTTP status codes.
var (
	// ErrSignature means the request is not authenticated: no secret configured, no
	// signature or token, or one that does not verify.
	ErrSignature = errors.New("webhook signature verification failed")
	// ErrMalformed means the verified body is not a payload the sender would send.
	ErrMalformed = errors.New("malformed webhook payload")
	// ErrTooLarge means the body exceeds the size limit.
	ErrTooLarge = errors.New("webhook body too large")
)

// MaxBodyBytes is the body-size limit receivers should pass to ReadBody.
const MaxBodyBytes = 1 << 20

// Header reads request headers with case-insensitive keys, as http.Header does.
type Header interface {
	Get(key string) string
}

// ReadBody reads at most limit bytes from r; a longer body gives ErrTooLarge and is not
// read further.
func ReadBody(r io.Reader, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading webhook body: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	return body, nil
}

// StatusCode is the HTTP status to answer for the result of Parse, ReadBody or
// Bodies.Read: 200 for nil, 401 for ErrSignature, 413 for ErrTooLarge, 408 for ErrTimeout,
// 503 for ErrBusy, 400 for ErrMalformed, else 500. (A source over its Refusals is answered
// 429 by the receiver, before any of these.)
func StatusCode(err error) int {
	switch {
	case err == nil:
		return 200
	case errors.Is(err, ErrSignature):
		return 401
	case errors.Is(err, ErrTooLarge):
		return 413
	case errors.Is(err, ErrTimeout):
		return 408
	case errors.Is(err, ErrBusy):
		return 503
	case errors.Is(err, ErrMalformed):
		return 400
	}
	return 500
}

// Sender names the provider of a request from its headers' names alone, so a receiver can
// refuse a request no Git host would send before it reads the body. A request Parse would
// refuse for its headers gives ErrSignature.
func Sender(h Header) (Provider, error) {
	p, ok := detect(h)
	if !ok {
		return "", fmt.Errorf("%w: no known event or signature header", ErrSignature)
	}
	return p.name, nil
}

// Parse identifies the sender from the headers, verifies the request with secret (the
// HMAC key, or the shared token for GitLab) and parses the body. An empty secret refuses
// every request. A refused request from a recognised sender still returns an Event with
// only Provider set, so receivers can count refusals per sender: the provider comes from
// the headers' names, one of a fixed set, never from their values.
func Parse(h Header, body, secret []byte) (Event, error) {
	p, ok := detect(h)
	if !ok {
		_, err := Sender(h)
		return Event{}, err
	}
	refused := Event{Provider: p.name}
	if len(secret) == 0 {
		return refused, fmt.Errorf("%w: no webhook secret is configured", ErrSignature)
	}
	if err := p.verify(h, body, secret); err != nil {
		return refused, err
	}
	ev, err := p.parse(h, body)
	if err != nil {
		// Only the sentinel is wrapped: a JSON decoding error is detail, not a type to match.
		return refused, fmt.Errorf("%w: %s: %v", ErrMalformed, p.name, err) //nolint:errorlint // see above
	}
	ev.Provider = p.name
	return ev, nil
}
