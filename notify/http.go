package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Format is the body a webhook target gets. The names are API.
type Format string

// Webhook formats.
const (
	// Generic is the Event as JSON (see Event).
	Generic Format = "webhook"
	// Slack is a Slack incoming-webhook message: text and one attachment.
	Slack Format = "slack"
	// Teams is a Microsoft Teams Workflows message carrying an Adaptive Card.
	Teams Format = "teams"
	// Discord is a Discord webhook message with one embed.
	Discord Format = "discord"
)

// SignatureHeader carries "sha256=<hex>", the HMAC-SHA256 of the body with the target's
// key: the header Landfall's own webhook receiver verifies for generic senders.
const SignatureHeader = "X-Landfall-Signature"

// maxResponse bounds how much of an answer is read: a page of 100 pull-request comments.
const maxResponse = 4 << 20

// Webhook posts events as JSON to an address.
type Webhook struct {
	// Address is the URL; it is a secret (chat webhooks carry their token in the path) and
	// never appears in an error.
	Address string
	Format  Format
	// Key, when set, signs every body (SignatureHeader).
	Key []byte
	// Client defaults to one that follows no redirects and times out after 15 s.
	Client *http.Client
}

// Send posts ev in the target's format.
func (w *Webhook) Send(ctx context.Context, ev Event) error {
	body, err := Payload(w.Format, ev)
	if err != nil {
		return &PermanentError{err}
	}
	h := http.Header{"Content-Type": {"application/json"}, "X-Landfall-Event": {string(ev.Kind)}}
	if len(w.Key) > 0 {
		mac := hmac.New(sha256.New, w.Key)
		mac.Write(body)
		h.Set(SignatureHeader, "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	_, err = post(ctx, w.client(), http.MethodPost, w.Address, h, body, []string{w.Address})
	return err
}

func (w *Webhook) client() *http.Client {
	if w.Client != nil {
		return w.Client
	}
	return defaultClient
}

// defaultClient follows no redirect: a target that moves must be configured again, and a
// redirect would carry a signed body or a token elsewhere.
var defaultClient = &http.Client{
	Timeout:       15 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// post sends body and returns up to maxResponse bytes of a 2xx answer. A 408, 429 or 5xx
// answer and a transport error are worth retrying; another 4xx (and a 3xx) is permanent.
// Errors name neither the address nor anything in secrets.
func post(ctx context.Context, c *http.Client, method, address string, h http.Header, body []byte,
	secrets []string) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, address, rd)
	if err != nil {
		return nil, &PermanentError{errors.New("the target's address is not a valid URL")}
	}
	req.Header = h
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the whole address
		}
		return nil, fmt.Errorf("%s to the target failed: %s", method, scrub(err.Error(), secrets))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return b, nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return nil, fmt.Errorf("the target answered %d %s", code, http.StatusText(code))
	default:
		return nil, &PermanentError{fmt.Errorf("the target refused the event: %d %s", code, http.StatusText(code))}
	}
}

// scrub removes each secret from msg, and of each URL among them its path and query and its
// host: a webhook's whole address is a secret.
func scrub(msg string, secrets []string) string {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		msg = strings.ReplaceAll(msg, s, "<redacted>")
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			if p := strings.TrimPrefix(u.RequestURI(), "/"); len(p) > 1 {
				msg = strings.ReplaceAll(msg, p, "<redacted>")
			}
			msg = strings.ReplaceAll(msg, u.Host, "<redacted>")
			msg = strings.ReplaceAll(msg, u.Hostname(), "<redacted>")
		}
	}
	return msg
}
