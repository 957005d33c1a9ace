package cluster

import "crypto/tls"

// insecureTLS skips verification of the controller-manager's and scheduler's self-signed
// serving certificates; only ever used for their /healthz on 127.0.0.1.
func insecureTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true} //nolint:gosec // loopback health checks of test components
}
