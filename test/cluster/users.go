package cluster

import (
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// UserKubeconfig issues a client certificate for user (in groups) signed by the cluster's
// CA and returns a kubeconfig with every certificate and key embedded, not referred to by
// path: what a kubeconfig Secret for another cluster must look like, and a distinct
// identity for a client whose requests should be told apart in the audit log.
func (c *Cluster) UserKubeconfig(user string, groups ...string) ([]byte, error) {
	p := pki{dir: c.path("pki")}
	ca, err := p.load("ca")
	if err != nil {
		return nil, err
	}
	name := "user-" + user
	client := func(t *x509.Certificate) { t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth} }
	if _, err := p.issue(name, pkix.Name{CommonName: user, Organization: groups}, ca, client); err != nil {
		return nil, err
	}
	var data [3]string
	for i, f := range []string{"ca.crt", name + ".crt", name + ".key"} {
		b, err := os.ReadFile(p.path(f))
		if err != nil {
			return nil, err
		}
		data[i] = base64.StdEncoding.EncodeToString(b)
	}
	server := "https://127.0.0.1:" + strconv.Itoa(c.Ports.APIServer)
	return fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: %[1]s
  cluster: {server: %[2]q, certificate-authority-data: %[3]s}
users:
- name: %[4]s
  user: {client-certificate-data: %[5]s, client-key-data: %[6]s}
contexts:
- name: %[1]s
  context: {cluster: %[1]s, user: %[4]s}
current-context: %[1]s
`, c.Name, server, data[0], user, data[1], data[2]), nil
}

// load reads back a key pair that generate or issue wrote.
func (p pki) load(name string) (*keyPair, error) {
	certPEM, err := os.ReadFile(p.path(name + ".crt"))
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(p.path(name + ".key"))
	if err != nil {
		return nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, errors.New("pki: " + name + ": no PEM data")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, err
	}
	var key *ecdsa.PrivateKey
	if key, err = x509.ParseECPrivateKey(kb.Bytes); err != nil {
		return nil, err
	}
	return &keyPair{cert: cert, key: key}, nil
}
