package apply

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// crdPollInterval is short because a CRD is usually established within a second.
const crdPollInterval = 100 * time.Millisecond

var crdGVK = schema.GroupVersionKind{Group: crdGroup, Version: "v1", Kind: "CustomResourceDefinition"}

// waitForDefinitions waits until every CRD of the set is established and its kind is
// known to the REST mapper. A CRD that is not in time is marked Failed.
func (m *Manager) waitForDefinitions(ctx context.Context, items []item, cs *ChangeSet) []error {
	var errs []error
	for _, it := range items {
		if !isCRD(it.ref) {
			continue
		}
		if err := m.waitForCRD(ctx, it.obj); err != nil {
			oerr := objectErr(it.ref, err)
			cs.fail(it.ref, oerr.msg)
			errs = append(errs, oerr)
		}
	}
	return errs
}

// waitForCRD polls until the CRD is Established and each served version maps to a
// resource, so its custom resources can be applied right after. The mapper is reset on a
// miss when it supports that: discovery can lag behind the Established condition.
func (m *Manager) waitForCRD(ctx context.Context, desired *unstructured.Unstructured) error {
	group, _, _ := unstructured.NestedString(desired.Object, "spec", "group")
	kind, _, _ := unstructured.NestedString(desired.Object, "spec", "names", "kind")
	gk := schema.GroupKind{Group: group, Kind: kind}
	last, seen := "not established yet", false
	err := wait.PollUntilContextTimeout(ctx, crdPollInterval, m.opts.WaitTimeout, true, func(ctx context.Context) (bool, error) {
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(crdGVK)
		if err := m.client.Get(ctx, client.ObjectKey{Name: desired.GetName()}, live); err != nil {
			if !seen { // once the CRD was read, its conditions explain the wait better
				last = err.Error()
			}
			return false, nil // transient: keep polling until the timeout
		}
		seen = true
		if ok, msg := crdEstablished(live); !ok {
			last = msg
			return false, nil
		}
		for _, v := range servedVersions(live) {
			if _, err := m.mapper.RESTMapping(gk, v); err != nil {
				last = fmt.Sprintf("kind %s is not served yet: %v", gk.WithVersion(v), err)
				if r, ok := m.mapper.(meta.ResettableRESTMapper); ok {
					r.Reset()
				}
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("applied, but not established within %s: %s", m.opts.WaitTimeout, last)
	}
	return nil
}

// crdEstablished reads the Established condition; when it is not true the message says
// why, preferring a NamesAccepted=False message (a name clash never resolves by waiting).
func crdEstablished(crd *unstructured.Unstructured) (bool, string) {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	msg := "not established yet"
	for _, c := range conds {
		cond, _ := c.(map[string]any)
		typ, _ := cond["type"].(string)
		status, _ := cond["status"].(string)
		text, _ := cond["message"].(string)
		switch {
		case typ == "Established" && status == "True":
			return true, ""
		case typ == "NamesAccepted" && status == "False":
			return false, "names not accepted: " + text
		case typ == "Established" && text != "":
			msg = "not established: " + text
		}
	}
	return false, msg
}

func servedVersions(crd *unstructured.Unstructured) []string {
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	var served []string
	for _, v := range versions {
		ver, _ := v.(map[string]any)
		name, _ := ver["name"].(string)
		if s, _ := ver["served"].(bool); s && name != "" {
			served = append(served, name)
		}
	}
	return served
}
