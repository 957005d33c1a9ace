package controllers

import (
	"sync"

	"github.com/landfall-dev/landfall/render"
)

// renderMemo keeps, for each environment, what shaped its last render and the digest that
// render had: a commit that changes nothing an environment renders moves it to the new
// revision without rendering (fastForward), however many environments the render cache
// could hold. An entry is a few hundred bytes; the objects themselves are not kept.
type renderMemo struct {
	mu   sync.Mutex
	last map[envKey]memoEntry
}

type memoEntry struct {
	inputs render.Inputs
	digest string
}

func newRenderMemo() *renderMemo { return &renderMemo{last: map[envKey]memoEntry{}} }

// put records a successful render of k's environment.
func (m *renderMemo) put(k envKey, res *render.Result) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last[k] = memoEntry{inputs: res.Inputs, digest: res.Digest}
}

// get returns the Inputs of k's last render if that render had the given digest.
func (m *renderMemo) get(k envKey, digest string) (render.Inputs, bool) {
	if m == nil {
		return render.Inputs{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.last[k]
	return e.inputs, ok && digest != "" && e.digest == digest
}

// forget drops every environment of an Application.
func (m *renderMemo) forget(namespace, app string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.last {
		if k.namespace == namespace && k.app == app {
			delete(m.last, k)
		}
	}
}
