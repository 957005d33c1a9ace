package source

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Sentinel errors, for errors.Is. Their messages are fit to show to users as they are.
var (
	// ErrAuthentication means the remote refused the credentials, or needs some.
	ErrAuthentication = errors.New("authentication failed")
	// ErrHostKey means the SSH server's host key is not in known_hosts or does not match.
	ErrHostKey = errors.New("host key verification failed")
	// ErrInvalidURL means the repository URL is malformed or not allowed.
	ErrInvalidURL = errors.New("invalid repository URL")
	// ErrInvalidAuth means the credentials themselves are malformed or incomplete.
	ErrInvalidAuth = errors.New("invalid credentials")
	// ErrInvalidRef means the ref is malformed (not exactly one of branch, tag, semver, commit).
	ErrInvalidRef = errors.New("invalid ref")
	// ErrRefNotFound means the remote has no ref (or no commit) matching the request.
	ErrRefNotFound = errors.New("ref not found")
	// ErrRepositoryNotFound means the remote has no repository at the URL.
	ErrRepositoryNotFound = errors.New("repository not found")
	// ErrTooLarge means the fetched data or the checkout exceeds the size limit.
	ErrTooLarge = errors.New("repository too large")
	// ErrTooManyFiles means the checkout exceeds the file-count limit.
	ErrTooManyFiles = errors.New("repository has too many files")
	// ErrLimit means the Git server's answer exceeds a bound of what a fetch reads (ref
	// advertisement, lines before the pack, the answer's size, the pack's object count).
	ErrLimit = errors.New("limit exceeded")
	// ErrUnsafeCheckout means the checkout has a symlink that leaves it or points into .git.
	ErrUnsafeCheckout = errors.New("unsafe checkout")
)

// classify maps transport errors of go-git to the package's sentinel errors, with the
// redacted URL as context. Authentication and host-key errors drop the underlying text:
// it adds nothing useful and must never risk echoing a credential.
func classify(op, redacted string, err error) error {
	switch {
	case err == nil:
		return nil
	case isAny(err, ErrTooLarge, ErrTooManyFiles, ErrLimit, ErrUnsafeCheckout, ErrRefNotFound,
		ErrInvalidURL, ErrInvalidAuth, ErrInvalidRef):
		return fmt.Errorf("%s %s: %w", op, redacted, err)
	case errors.Is(err, transport.ErrAuthenticationRequired),
		errors.Is(err, transport.ErrAuthorizationFailed),
		strings.Contains(err.Error(), "unable to authenticate"):
		return fmt.Errorf("%s %s: %w", op, redacted, ErrAuthentication)
	case errors.Is(err, ErrHostKey), strings.Contains(err.Error(), ErrHostKey.Error()):
		return fmt.Errorf("%s %s: %w: the server's key is not in known_hosts", op, redacted, ErrHostKey)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("%s %s: %w", op, redacted, ErrRepositoryNotFound)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s %s: timed out: %w", op, redacted, err)
	}
	return fmt.Errorf("%s %s: %w", op, redacted, err)
}

func isAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
