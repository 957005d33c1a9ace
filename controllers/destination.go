package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// destination is a cluster objects are applied to.
type destination struct {
	key     string // "local" or "<namespace>/<secret>"
	config  *rest.Config
	client  client.Client // uncached: live objects are read fresh for each sync
	version string        // the apiserver's version, for rendering
	user    string        // the ServiceAccount impersonated; "" for the controller's own rights
	caps    *capabilities // what it serves, for Helm; shared with its impersonated destinations
}

// scope tells the renderer whether a kind is namespaced in this cluster.
func (d *destination) scope(gvk schema.GroupVersionKind) (namespaced, known bool) {
	m, err := d.client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return false, false
	}
	return m.Scope.Name() == meta.RESTScopeNameNamespace, true
}

// destinations hands out the local cluster and remote clusters from kubeconfig Secrets,
// rebuilding a remote client when its Secret changes.
type destinations struct {
	local   *destination
	secrets client.Reader
	mu      sync.Mutex
	remote  map[string]remoteEntry
	// defaultServiceAccount is what an Application without spec.serviceAccountName
	// deploys as; "" means the controller's own rights.
	defaultServiceAccount string
	as                    impersonated
	// accounts reads ServiceAccounts' metadata in the local cluster from an informer;
	// nil asks the apiserver each time.
	accounts client.Reader
}

type remoteEntry struct {
	resourceVersion string
	dest            *destination
}

func newDestinations(cfg *rest.Config, secrets client.Reader, scheme client.Options) (*destinations, error) {
	local, err := newDestination("local", cfg, scheme)
	if err != nil {
		return nil, err
	}
	return &destinations{local: local, secrets: secrets, remote: map[string]remoteEntry{}}, nil
}

func newDestination(key string, cfg *rest.Config, opts client.Options) (*destination, error) {
	c, err := client.New(cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", key, err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", key, err)
	}
	v, err := dc.ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("cluster %s: reading its version: %w", key, err)
	}
	return &destination{key: key, config: cfg, client: c, version: v.GitVersion, caps: newCapabilities(dc)}, nil
}

// get returns the destination of an environment.
func (d *destinations) get(ctx context.Context, namespace string, ref *landfallv1.ClusterRef) (*destination, error) {
	if ref == nil {
		return d.local, nil
	}
	s := &corev1.Secret{}
	if err := d.secrets.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.SecretRef.Name}, s); err != nil {
		return nil, fmt.Errorf("reading the kubeconfig Secret %s: %w", ref.SecretRef.Name, err)
	}
	key := namespace + "/" + ref.SecretRef.Name
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.remote[key]; ok && e.resourceVersion == s.ResourceVersion {
		return e.dest, nil
	}
	cfg, err := remoteConfig(s.Data["kubeconfig"])
	if err != nil {
		return nil, fmt.Errorf("kubeconfig Secret %s: %w", ref.SecretRef.Name, err)
	}
	dest, err := newDestination(key, cfg, client.Options{Scheme: d.local.client.Scheme()})
	if err != nil {
		return nil, err
	}
	d.remote[key] = remoteEntry{resourceVersion: s.ResourceVersion, dest: dest}
	return dest, nil
}

// remoteConfig builds a client config from kubeconfig bytes, refusing what would run code
// or read files on the controller's machine, or skip TLS verification.
func remoteConfig(data []byte) (*rest.Config, error) {
	if len(data) == 0 {
		return nil, errors.New(`key "kubeconfig" is missing or empty`)
	}
	kc, err := clientcmd.Load(data)
	if err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	for name, a := range kc.AuthInfos {
		switch {
		case a.Exec != nil:
			return nil, fmt.Errorf("user %q uses an exec plugin, which Landfall refuses", name)
		case a.AuthProvider != nil:
			return nil, fmt.Errorf("user %q uses an auth provider plugin, which Landfall refuses", name)
		case a.ClientCertificate != "" || a.ClientKey != "" || a.TokenFile != "":
			return nil, fmt.Errorf("user %q refers to files; embed the data instead", name)
		}
	}
	for name, c := range kc.Clusters {
		switch {
		case c.InsecureSkipTLSVerify:
			return nil, fmt.Errorf("cluster %q skips TLS verification, which Landfall refuses", name)
		case c.CertificateAuthority != "":
			return nil, fmt.Errorf("cluster %q refers to a CA file; embed certificate-authority-data instead", name)
		}
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*kc, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, err
	}
	// No client-side rate limit, as for the local cluster: client-go's default of 5
	// requests a second would make a large environment take minutes to apply; the remote
	// apiserver's priority and fairness protects it.
	cfg.QPS = -1
	return cfg, nil
}
