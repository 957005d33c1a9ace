package source

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// endpoint is a validated repository URL.
type endpoint struct {
	// url is what go-git dials: never holds a password, nor any user info for http(s).
	url string
	// redacted is the URL to show in errors and logs.
	redacted string
	// ssh says whether the transport is SSH (ssh:// or scp-like).
	ssh bool
	// user is the SSH login user ("git" when the URL names none).
	user string
	// hostPort is host:port of an SSH server, for known_hosts lookups.
	hostPort string
}

// scpLike matches user@host:path, the short SSH form Git accepts.
var scpLike = regexp.MustCompile(`^(?:([^@/:]+)@)?([^@/:]+):(.+)$`)

// userInfo matches user info in URLs that net/url cannot parse.
var userInfo = regexp.MustCompile(`//[^/@]*@`)

// RedactURL returns the URL with user info removed, for logs, errors and status. For
// ssh:// and scp-like URLs the user name is kept (it names the login, not a secret, as in
// git@host:path) but any password is removed. A query string is dropped, since hosts
// sometimes carry tokens there.
func RedactURL(raw string) string {
	if !strings.Contains(raw, "://") {
		if m := scpLike.FindStringSubmatch(raw); m != nil {
			user := m[1]
			if user != "" {
				user += "@"
			}
			return user + m[2] + ":" + m[3]
		}
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return userInfo.ReplaceAllString(raw, "//")
	}
	if u.User != nil {
		if u.Scheme == "ssh" {
			u.User = url.User(u.User.Username())
		} else {
			u.User = nil
		}
	}
	u.RawQuery, u.ForceQuery = "", false
	return u.String()
}

// parseURL validates a repository URL. Allowed: https, ssh, scp-like user@host:path, and
// http only when allowHTTP. Refused: every other scheme (file, git, ext::…), local paths,
// credentials in http(s) URLs, and a host, user or path starting with "-", which an SSH
// client could take for an option.
func parseURL(raw string, allowHTTP bool) (endpoint, error) {
	bad := func(format string, args ...any) (endpoint, error) {
		return endpoint{}, fmt.Errorf("%w %q: %s", ErrInvalidURL, RedactURL(raw), fmt.Sprintf(format, args...))
	}
	if raw == "" {
		return bad("empty")
	}
	if strings.HasPrefix(raw, "-") || strings.Contains(raw, "::") {
		return bad("remote helpers and option-like URLs are not allowed")
	}
	if strings.IndexFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return bad("contains spaces or control characters")
	}
	if !strings.Contains(raw, "://") {
		return parseSCP(raw, bad)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("%v", err)
	}
	switch u.Scheme {
	case "https", "ssh":
	case "http":
		if !allowHTTP {
			return bad("plain http is not allowed unless insecure is set")
		}
	default:
		return bad("scheme %q is not allowed: use https or ssh", u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return bad("no host")
	}
	if strings.HasPrefix(u.Hostname(), "-") || strings.HasPrefix(u.Path, "-") {
		return bad("host or path starts with '-'")
	}
	if u.Scheme == "ssh" {
		return sshEndpoint(u, bad)
	}
	if u.User != nil {
		return bad("credentials must not be in the URL: put them in the credentials Secret")
	}
	return endpoint{url: u.String(), redacted: RedactURL(raw)}, nil
}

func sshEndpoint(u *url.URL, bad func(string, ...any) (endpoint, error)) (endpoint, error) {
	user := "git"
	if u.User != nil {
		if _, has := u.User.Password(); has {
			return bad("a password must not be in the URL: put credentials in the Secret")
		}
		user = u.User.Username()
	}
	if user == "" || strings.HasPrefix(user, "-") {
		return bad("user is empty or starts with '-'")
	}
	port := u.Port()
	if port == "" {
		port = "22"
	}
	return endpoint{
		url: u.String(), redacted: RedactURL(u.String()), ssh: true, user: user,
		hostPort: hostPort(u.Hostname(), port),
	}, nil
}

func parseSCP(raw string, bad func(string, ...any) (endpoint, error)) (endpoint, error) {
	m := scpLike.FindStringSubmatch(raw)
	if m == nil {
		return bad("local paths are not allowed: use https://, ssh:// or user@host:path")
	}
	user, host, path := m[1], m[2], m[3]
	if user == "" {
		user = "git"
	}
	if strings.HasPrefix(user, "-") || strings.HasPrefix(host, "-") || strings.HasPrefix(path, "-") {
		return bad("user, host or path starts with '-'")
	}
	return endpoint{url: raw, redacted: RedactURL(raw), ssh: true, user: user, hostPort: hostPort(host, "22")}, nil
}

func hostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// cacheKey names the cache directory of a repository: every caller of the same URL shares
// it, whatever its credentials (each caller still authenticates with a remote check).
// The URL is taken as written: folding case could merge two repositories of a
// case-sensitive host.
func (e endpoint) cacheKey() string {
	sum := sha256.Sum256([]byte(e.redacted))
	return hex.EncodeToString(sum[:12])
}
