package controllers

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/discovery"

	"github.com/landfall-dev/landfall/sync/apply"
)

// discoveryTTL is how long what a destination serves is trusted for rendering. A read is
// two requests (aggregated discovery of /api and /apis); a render happens on every sync that
// has something to do, so reading for each would cost two requests per render and Application.
// A CRD or APIService Landfall writes, and a manual sync, read it again at once; one installed
// by someone else counts within this time.
const discoveryTTL = time.Minute

// capabilities keeps what a destination cluster serves, for Helm's .Capabilities.APIVersions.
// Impersonated destinations share their cluster's.
type capabilities struct {
	disco discovery.DiscoveryInterface
	ttl   time.Duration
	now   func() time.Time

	mu    sync.Mutex
	list  []string
	read  time.Time
	stale bool
}

func newCapabilities(disco discovery.DiscoveryInterface) *capabilities {
	return &capabilities{disco: disco, ttl: discoveryTTL, now: time.Now}
}

// apiVersions lists what the cluster serves, as "group/version" and "group/version/Kind",
// read again when the last read is older than the TTL or was invalidated. A failed read of
// some groups keeps what was read (a broken aggregated API must not hide the rest); a read
// that failed whole keeps the last list.
func (c *capabilities) apiVersions() []string {
	if c == nil || c.disco == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.read.IsZero() || c.stale || now.Sub(c.read) >= c.ttl {
		if list := readAPIVersions(c.disco); len(list) > 0 || c.read.IsZero() {
			c.list = list
		}
		c.read, c.stale = now, false
	}
	return c.list
}

// invalidate makes the next render read the cluster's API again.
func (c *capabilities) invalidate() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.stale = true
	c.mu.Unlock()
}

func readAPIVersions(disco discovery.DiscoveryInterface) []string {
	_, lists, _ := disco.ServerGroupsAndResources()
	var out []string
	for _, l := range lists {
		out = append(out, l.GroupVersion)
		for _, r := range l.APIResources {
			if !strings.Contains(r.Name, "/") { // subresources are not kinds
				out = append(out, l.GroupVersion+"/"+r.Kind)
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// changesAPI reports whether changes wrote an object that changes what the cluster serves:
// a CustomResourceDefinition or an APIService.
func changesAPI(changes *apply.ChangeSet) bool {
	if changes == nil {
		return false
	}
	for _, c := range changes.Changes {
		switch c.Action {
		case apply.Created, apply.Configured, apply.Recreated, apply.Pruned:
		default:
			continue
		}
		if (c.Ref.Group == "apiextensions.k8s.io" && c.Ref.Kind == "CustomResourceDefinition") ||
			(c.Ref.Group == "apiregistration.k8s.io" && c.Ref.Kind == "APIService") {
			return true
		}
	}
	return false
}
