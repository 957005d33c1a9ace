package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// provider binds a sender's verification and parsing.
type provider struct {
	name   Provider
	verify func(h Header, body, secret []byte) error
	parse  func(h Header, body []byte) (Event, error)
}

// detect picks the provider from its headers. Gitea and Forgejo also send GitHub's
// headers, so they are recognised first.
func detect(h Header) (provider, bool) {
	has := func(k string) bool { return h.Get(k) != "" }
	switch {
	case has("X-Forgejo-Event") || has("X-Forgejo-Signature"):
		return provider{Forgejo, verifyHex("X-Forgejo-Signature", "X-Gitea-Signature"), parseGitea("X-Forgejo-Event", "X-Gitea-Event")}, true
	case has("X-Gitea-Event") || has("X-Gitea-Signature"):
		return provider{Gitea, verifyHex("X-Gitea-Signature"), parseGitea("X-Gitea-Event")}, true
	case has("X-Gitlab-Event") || has("X-Gitlab-Token"):
		return provider{GitLab, verifyToken("X-Gitlab-Token"), parseGitLab}, true
	case has("X-GitHub-Event"):
		return provider{GitHub, verifyPrefixed("X-Hub-Signature-256"), parseGitHub}, true
	case has("X-Event-Key"):
		return provider{Bitbucket, verifyPrefixed("X-Hub-Signature"), parseBitbucket}, true
	case has("X-Landfall-Signature"):
		return provider{Generic, verifyPrefixed("X-Landfall-Signature"), parseGeneric}, true
	}
	return provider{}, false
}

// verifyPrefixed checks a "sha256=<hex>" HMAC-SHA256 of the body.
func verifyPrefixed(header string) func(Header, []byte, []byte) error {
	return func(h Header, body, secret []byte) error {
		v := h.Get(header)
		if v == "" {
			return fmt.Errorf("%w: missing %s header", ErrSignature, header)
		}
		sig, ok := strings.CutPrefix(v, "sha256=")
		if !ok {
			return fmt.Errorf("%w: %s is not of the form sha256=<hex>", ErrSignature, header)
		}
		return checkHMAC(header, sig, body, secret)
	}
}

// verifyHex checks a bare hex HMAC-SHA256 of the body in the first header present.
func verifyHex(headers ...string) func(Header, []byte, []byte) error {
	return func(h Header, body, secret []byte) error {
		for _, header := range headers {
			if v := h.Get(header); v != "" {
				return checkHMAC(header, v, body, secret)
			}
		}
		return fmt.Errorf("%w: missing %s header", ErrSignature, strings.Join(headers, " or "))
	}
}

func checkHMAC(header, sigHex string, body, secret []byte) error {
	got, err := hex.DecodeString(strings.TrimSpace(sigHex))
	if err != nil {
		return fmt.Errorf("%w: %s is not hex", ErrSignature, header)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%w: %s does not match the body", ErrSignature, header)
	}
	return nil
}

// verifyToken compares a shared token. Both sides are hashed first so the comparison
// takes the same time whatever the token's length.
func verifyToken(header string) func(Header, []byte, []byte) error {
	return func(h Header, _, secret []byte) error {
		v := h.Get(header)
		if v == "" {
			return fmt.Errorf("%w: missing %s header", ErrSignature, header)
		}
		got, want := sha256.Sum256([]byte(v)), sha256.Sum256(secret)
		if !hmac.Equal(got[:], want[:]) {
			return fmt.Errorf("%w: %s does not match", ErrSignature, header)
		}
		return nil
	}
}
