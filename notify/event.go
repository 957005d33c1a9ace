// Package notify delivers Landfall's events to people: chat (Slack, Microsoft Teams,
// Discord), generic webhooks, and the Git forge itself (commit statuses, pull-request
// comments). It knows nothing of Kubernetes: the controllers publish plain Events and
// configure plain routes.
//
// Publishing never blocks. Each target has a bounded FIFO queue (the oldest event is
// dropped, and counted, when it is full), its own worker that sends in order with retries,
// exponential backoff and a rate limit, and a record of the events it already took, so the
// same event for the same revision is sent once.
package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Kind is the kind of an event. The names are API: Notifications select on them.
type Kind string

// The kinds of events Landfall publishes.
const (
	NewRevision     Kind = "NewRevision"
	Synced          Kind = "Synced"
	Promoted        Kind = "Promoted"
	Baking          Kind = "Baking"
	CanaryStep      Kind = "CanaryStep"
	AnalysisFailed  Kind = "AnalysisFailed"
	RolledBack      Kind = "RolledBack"
	SyncFailed      Kind = "SyncFailed"
	DriftCorrected  Kind = "DriftCorrected"
	PreviewUp       Kind = "PreviewUp"
	PreviewUpdated  Kind = "PreviewUpdated"
	PreviewRemoved  Kind = "PreviewRemoved"
	PolicyViolation Kind = "PolicyViolation"
)

// Kinds lists every kind, in the order above.
var Kinds = []Kind{NewRevision, Synced, Promoted, Baking, CanaryStep, AnalysisFailed, RolledBack, SyncFailed,
	DriftCorrected, PreviewUp, PreviewUpdated, PreviewRemoved, PolicyViolation}

// Failure reports whether the kind says something went wrong.
func (k Kind) Failure() bool {
	return k == AnalysisFailed || k == RolledBack || k == SyncFailed || k == PolicyViolation
}

// Object names the Landfall object an event is about.
type Object struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// Preview is what a pull request's preview shows.
type Preview struct {
	// Number of the pull request (0 for a branch).
	Number int64 `json:"number"`
	// Ref the preview follows, such as refs/pull/1/head.
	Ref string `json:"ref"`
	// Namespace the preview runs in.
	Namespace string `json:"namespace,omitempty"`
	// URL of the preview, from its Ingress.
	URL string `json:"url,omitempty"`
	// Health of the preview's Application.
	Health string `json:"health,omitempty"`
}

// Event is one thing that happened, as the generic webhook sends it (JSON).
type Event struct {
	Kind   Kind   `json:"kind"`
	Object Object `json:"object"`
	// Labels of the object, for routing; not sent.
	Labels map[string]string `json:"-"`
	// Environment of an Application the event is about, if any.
	Environment string `json:"environment,omitempty"`
	// Revision the event is about, as Landfall writes it (main@sha1:<commit>).
	Revision string `json:"revision,omitempty"`
	// Commit is the revision's commit.
	Commit string `json:"commit,omitempty"`
	// RepositoryURL is the Git URL the revision comes from.
	RepositoryURL string `json:"repositoryURL,omitempty"`
	// Message says what happened, as the Kubernetes Event of the same moment does.
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
	// Preview is set on the Preview kinds.
	Preview *Preview `json:"preview,omitempty"`
}

// Severity is "error" for failures, else "info".
func (e Event) Severity() string {
	if e.Kind.Failure() {
		return "error"
	}
	return "info"
}

// key identifies an event for deduplication: the same kind, object, environment and
// revision (and pull request) is the same event, whatever its message or time. Drift
// corrections are each their own event: the same revision drifts again. Events without a
// revision are told apart by their message.
func (e Event) key() string {
	k := string(e.Kind) + "\x00" + e.Object.Kind + "\x00" + e.Object.Namespace + "/" + e.Object.Name + "\x00" +
		e.Environment + "\x00" + e.Revision
	if e.Preview != nil {
		k += "\x00" + strconv.FormatInt(e.Preview.Number, 10) + "\x00" + e.Preview.Ref
		if e.Kind == PreviewUpdated {
			k += "\x00" + e.Preview.Health + "\x00" + e.Preview.URL
		}
	}
	if e.Kind == DriftCorrected {
		k += "\x00" + e.Time.Format(time.RFC3339Nano)
	}
	if e.Revision == "" {
		k += "\x00" + e.Message
	}
	sum := sha256.Sum256([]byte(k))
	return hex.EncodeToString(sum[:16])
}

// Title is a one-line summary for chat messages and comments.
func (e Event) Title() string {
	t := string(e.Kind) + ": " + e.Object.Kind + " " + e.Object.Namespace + "/" + e.Object.Name
	if e.Environment != "" {
		t += " (" + e.Environment + ")"
	}
	return t
}

// ShortCommit is the first 12 characters of the commit.
func (e Event) ShortCommit() string {
	if len(e.Commit) > 12 {
		return e.Commit[:12]
	}
	return e.Commit
}
