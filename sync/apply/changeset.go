package apply

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Action is what happened, or would happen, to one object.
type Action string

// The actions, in the order String reports them.
const (
	// Created: the object did not exist and was created.
	Created Action = "Created"
	// Configured: the object existed and differed, and was updated.
	Configured Action = "Configured"
	// Recreated: the object changed an immutable field and was deleted and created again,
	// as it asked (see Options.ForceAnnotation).
	Recreated Action = "Recreated"
	// Unchanged: the object already matched; nothing was written.
	Unchanged Action = "Unchanged"
	// Pruned: the object was deleted, or was already gone.
	Pruned Action = "Pruned"
	// Skipped: the object was left alone on purpose (not ours, or an earlier step
	// failed); the message says why.
	Skipped Action = "Skipped"
	// Failed: the apiserver refused the object, or a wait timed out; the message says why.
	Failed Action = "Failed"
)

var actionOrder = []Action{Created, Configured, Recreated, Unchanged, Pruned, Skipped, Failed}

// Change is the outcome for one object.
type Change struct {
	Ref    ObjectRef
	Action Action
	// Message explains Skipped and Failed entries; it never holds Secret data.
	Message string
	// Live is the object as Apply left it, for Created, Configured and Unchanged: the
	// apiserver's answer to the write, or the object read when nothing was to be written.
	// It is what a watch of the object shows until someone else writes it.
	Live *unstructured.Unstructured
}

// String returns "Kind/ns/name Action" with the message, if any.
func (c Change) String() string {
	s := c.Ref.String() + " " + string(c.Action)
	if c.Message != "" {
		s += ": " + c.Message
	}
	return s
}

// ChangeSet lists the outcome per object, in the order the objects were handled.
type ChangeSet struct {
	Changes []Change
}

// Add appends one outcome.
func (cs *ChangeSet) Add(ref ObjectRef, action Action, message string) {
	cs.Changes = append(cs.Changes, Change{Ref: ref, Action: action, Message: message})
}

// Append appends every change of other.
func (cs *ChangeSet) Append(other *ChangeSet) {
	if other != nil {
		cs.Changes = append(cs.Changes, other.Changes...)
	}
}

// Count returns how many objects had the action.
func (cs *ChangeSet) Count(action Action) int {
	n := 0
	for _, c := range cs.Changes {
		if c.Action == action {
			n++
		}
	}
	return n
}

// Counts returns the number of objects per action, omitting actions that did not occur.
func (cs *ChangeSet) Counts() map[Action]int {
	counts := map[Action]int{}
	for _, c := range cs.Changes {
		counts[c.Action]++
	}
	return counts
}

// Refs returns the objects that had the action, in order.
func (cs *ChangeSet) Refs(action Action) []ObjectRef {
	var refs []ObjectRef
	for _, c := range cs.Changes {
		if c.Action == action {
			refs = append(refs, c.Ref)
		}
	}
	return refs
}

// Writes returns how many objects were written: created, configured, recreated or pruned.
func (cs *ChangeSet) Writes() int {
	return cs.Count(Created) + cs.Count(Configured) + cs.Count(Recreated) + cs.Count(Pruned)
}

// String summarises the counts, such as "2 created, 1 configured, 5 unchanged", for
// status messages, Events and logs; "no changes" when empty.
func (cs *ChangeSet) String() string {
	counts := cs.Counts()
	var parts []string
	for _, a := range actionOrder {
		if n := counts[a]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, strings.ToLower(string(a))))
		}
	}
	if len(parts) == 0 {
		return "no changes"
	}
	return strings.Join(parts, ", ")
}

// fail turns the latest change of ref into Failed, for an object that was applied but
// then did not become usable.
func (cs *ChangeSet) fail(ref ObjectRef, message string) {
	for i := len(cs.Changes) - 1; i >= 0; i-- {
		if cs.Changes[i].Ref == ref {
			cs.Changes[i].Action, cs.Changes[i].Message = Failed, message
			return
		}
	}
	cs.Add(ref, Failed, message)
}
