// Package diff compares a live object with its desired state: it normalises both (drops
// what the server owns), removes ignored fields, masks Secret values and renders a
// readable unified diff of their YAML. It is pure: the caller fetches the live object and
// passes the server-side apply dry-run result as the desired one, so defaults and
// mutations the server adds appear on both sides and do not count as drift.
package diff

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// serverMetadata are metadata fields the API server writes; they never come from Git.
var serverMetadata = []string{
	"managedFields", "resourceVersion", "uid", "generation", "creationTimestamp",
	"selfLink", "deletionTimestamp", "deletionGracePeriodSeconds",
}

// lastAppliedAnnotation holds a full copy of the object as kubectl last applied it — for
// a Secret, its data in clear text — so it is dropped, never compared or shown.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// Normalize returns a copy of obj without the fields the server owns (status, managed
// fields, resource version, uid, generation, creation time, kubectl's last-applied
// annotation) and without the ignored paths. A Secret's stringData is folded into data,
// as the API server does, so a desired Secret written with stringData compares equal to
// the live one. obj is not modified; a nil obj gives nil. Values that have no JSON form
// are an error.
func Normalize(obj map[string]any, ignore ...Pointer) (map[string]any, error) {
	if obj == nil {
		return nil, nil
	}
	out, err := jsonCopy(obj)
	if err != nil {
		return nil, err
	}
	delete(out, "status")
	if meta, ok := out["metadata"].(map[string]any); ok {
		for _, f := range serverMetadata {
			delete(meta, f)
		}
		if ann, ok := meta["annotations"].(map[string]any); ok {
			delete(ann, lastAppliedAnnotation)
		}
		dropEmptyMap(meta, "annotations")
		dropEmptyMap(meta, "labels")
	}
	if isSecret(out) {
		foldStringData(out)
	}
	for _, p := range ignore {
		p.remove(out)
	}
	return out, nil
}

// jsonCopy deep-copies obj through JSON, which also gives every number one type
// (json.Number): maps built in Go with int, int64 or float64 compare alike.
func jsonCopy(obj map[string]any) (map[string]any, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		// The error text of encoding/json names types and never values.
		return nil, fmt.Errorf("object has no JSON form: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("object has no JSON form: %w", err)
	}
	return out, nil
}

func dropEmptyMap(m map[string]any, key string) {
	if v, ok := m[key].(map[string]any); ok && len(v) == 0 {
		delete(m, key)
	}
}

// isSecret decides by the object's own kind, not by how the caller typed it, so masking
// holds for any map that carries a Secret.
func isSecret(obj map[string]any) bool {
	kind, _ := obj["kind"].(string)
	return kind == "Secret"
}

// foldStringData moves stringData into data, base64-encoded; stringData wins on a clash,
// as it does in the API server.
func foldStringData(secret map[string]any) {
	sd, ok := secret["stringData"].(map[string]any)
	delete(secret, "stringData")
	if !ok || len(sd) == 0 {
		return
	}
	data, _ := secret["data"].(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	for k, v := range sd {
		s, _ := v.(string)
		data[k] = base64.StdEncoding.EncodeToString([]byte(s))
	}
	secret["data"] = data
}
