package source

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
)

// Auth holds credentials as plain values; the controller fills it from a Secret. Set at
// most one of username/password and bearer token for HTTPS, or an SSH key with known_hosts
// for SSH. String and GoString never print the secret fields.
type Auth struct {
	// Username and Password are HTTPS basic credentials.
	Username, Password string
	// BearerToken is an HTTPS bearer token.
	BearerToken string
	// CAData is a PEM bundle of extra certificate authorities trusted for HTTPS.
	CAData []byte
	// SSHKey is a PEM private key for SSH.
	SSHKey []byte
	// SSHPassphrase decrypts SSHKey when it is encrypted.
	SSHPassphrase string
	// KnownHosts holds known_hosts lines for SSH; unknown host keys are refused.
	KnownHosts []byte
}

// String describes which credentials are set, never their values.
func (a Auth) String() string {
	var parts []string
	set := func(name string, ok bool) {
		if ok {
			parts = append(parts, name)
		}
	}
	set("username", a.Username != "")
	set("password", a.Password != "")
	set("bearerToken", a.BearerToken != "")
	set("caData", len(a.CAData) > 0)
	set("sshKey", len(a.SSHKey) > 0)
	set("sshPassphrase", a.SSHPassphrase != "")
	set("knownHosts", len(a.KnownHosts) > 0)
	if len(parts) == 0 {
		return "Auth{}"
	}
	return "Auth{" + strings.Join(parts, ", ") + ": redacted}"
}

// GoString keeps %#v as safe as %v.
func (a Auth) GoString() string { return a.String() }

// method turns the credentials into a go-git auth method for the endpoint. Mismatches
// (an SSH key for an https URL, two kinds of HTTPS credentials) are errors, not guesses.
func (a Auth) method(ep endpoint) (transport.AuthMethod, error) {
	hasHTTP := a.Username != "" || a.Password != "" || a.BearerToken != ""
	if ep.ssh {
		if hasHTTP {
			return nil, fmt.Errorf("%w: username, password or bearer token given for an SSH URL", ErrInvalidAuth)
		}
		return a.sshMethod(ep)
	}
	if len(a.SSHKey) > 0 {
		return nil, fmt.Errorf("%w: SSH identity given for an HTTPS URL", ErrInvalidAuth)
	}
	switch {
	case a.BearerToken != "" && (a.Username != "" || a.Password != ""):
		return nil, fmt.Errorf("%w: set either username and password or a bearer token, not both", ErrInvalidAuth)
	case a.BearerToken != "":
		return &githttp.TokenAuth{Token: a.BearerToken}, nil
	case a.Username != "" || a.Password != "":
		return &githttp.BasicAuth{Username: a.Username, Password: a.Password}, nil
	}
	return nil, nil
}

func (a Auth) sshMethod(ep endpoint) (transport.AuthMethod, error) {
	if len(a.SSHKey) == 0 {
		return nil, fmt.Errorf("%w: an SSH URL needs an SSH identity (private key)", ErrInvalidAuth)
	}
	if len(a.KnownHosts) == 0 {
		return nil, fmt.Errorf("%w: an SSH URL needs known_hosts: unknown host keys are refused", ErrInvalidAuth)
	}
	keys, err := gitssh.NewPublicKeys(ep.user, a.SSHKey, a.SSHPassphrase)
	if err != nil {
		// The parser's message names the problem (no key found, wrong passphrase) and
		// never the key bytes.
		return nil, fmt.Errorf("%w: SSH identity: %w", ErrInvalidAuth, err)
	}
	db, err := loadKnownHosts(a.KnownHosts)
	if err != nil {
		return nil, err
	}
	check := db.HostKeyCallback()
	keys.HostKeyCallback = func(host string, remote net.Addr, key ssh.PublicKey) error {
		if err := check(host, remote, key); err != nil {
			return fmt.Errorf("%w: %w", ErrHostKey, err)
		}
		return nil
	}
	// Offer only the algorithms known_hosts has keys for, so a server with several host
	// keys presents the one we can verify.
	keys.HostKeyAlgorithms = db.HostKeyAlgorithms(ep.hostPort)
	return keys, nil
}

// loadKnownHosts validates known_hosts data and loads it. The knownhosts library reads
// files only, so the data goes through a short-lived temporary file.
func loadKnownHosts(data []byte) (*knownhosts.HostKeyDB, error) {
	n := 0
	for rest := data; len(bytes.TrimSpace(rest)) > 0; n++ {
		var err error
		_, _, _, _, rest, err = ssh.ParseKnownHosts(rest)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: known_hosts: %w", ErrInvalidAuth, err)
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: known_hosts has no host keys", ErrInvalidAuth)
	}
	f, err := os.CreateTemp("", "landfall-known-hosts-")
	if err != nil {
		return nil, fmt.Errorf("writing known_hosts: %w", err)
	}
	defer func() { _ = os.Remove(f.Name()) }() // a leftover holds only public host keys
	_, werr := f.Write(data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("writing known_hosts: %w", werr)
	}
	db, err := knownhosts.NewDB(f.Name())
	if err != nil {
		return nil, fmt.Errorf("%w: known_hosts: %w", ErrInvalidAuth, err)
	}
	return db, nil
}
