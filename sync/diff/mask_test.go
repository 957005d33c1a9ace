package diff

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The secret values of these tests: none may ever appear in a diff, plain or base64.
var secretValues = []string{"hunter2", "s3cr3t-old", "s3cr3t-new", "added-value", "removed-value", "string-data-value"}

func assertNoSecrets(t *testing.T, text string) {
	t.Helper()
	for _, v := range secretValues {
		if strings.Contains(text, v) || strings.Contains(text, b64(v)) {
			t.Errorf("diff leaks %q:\n%s", v, text)
		}
	}
}

func secret(data map[string]any, extra map[string]any) map[string]any {
	s := map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
		"metadata": map[string]any{"name": "db", "namespace": "shop"},
	}
	if data != nil {
		s["data"] = data
	}
	for k, v := range extra {
		s[k] = v
	}
	return s
}

func TestSecretMasking(t *testing.T) {
	live := secret(map[string]any{
		"user":     b64("hunter2"),
		"password": b64("s3cr3t-old"),
		"old":      b64("removed-value"),
	}, nil)
	live["metadata"].(map[string]any)["annotations"] = map[string]any{
		lastAppliedAnnotation: `{"data":{"password":"` + b64("s3cr3t-old") + `"}}`,
	}
	desired := secret(map[string]any{
		"user":     b64("hunter2"),
		"password": b64("s3cr3t-new"),
		"new":      b64("added-value"),
	}, nil)

	res, err := DiffMaps(live, desired, Options{Context: 10})
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecrets(t, res.Text)
	for _, want := range []string{
		"-  password: '***'\n", // a change shows, its values do not
		"+  password: '*** (changed)'\n",
		"+  new: '***'\n",
		"-  old: '***'\n",
		"   user: '***'\n", // unchanged: context on both sides
	} {
		if !strings.Contains(res.Text, want) {
			t.Errorf("diff lacks %q:\n%s", want, res.Text)
		}
	}
	// The caller's maps are untouched: masking works on copies.
	if live["data"].(map[string]any)["user"] != b64("hunter2") {
		t.Error("masking changed the caller's live map")
	}
}

func TestSecretStringDataEqualsData(t *testing.T) {
	live := &unstructured.Unstructured{Object: secret(map[string]any{"token": b64("string-data-value")}, nil)}
	desired := &unstructured.Unstructured{Object: secret(nil, map[string]any{
		"stringData": map[string]any{"token": "string-data-value"},
	})}
	if !Equal(live, desired) {
		t.Error("stringData and the same data compare unequal")
	}
	desired.Object["stringData"] = map[string]any{"token": "hunter2"}
	res, err := Diff(live, desired, Options{})
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecrets(t, res.Text)
	if !res.Changed || !strings.Contains(res.Text, "+  token: '*** (changed)'") {
		t.Errorf("changed stringData not shown as a changed key:\n%s", res.Text)
	}
}

// TestSecretMaskingOddShapes: whatever shape a caller passes, values stay hidden.
func TestSecretMaskingOddShapes(t *testing.T) {
	tests := []struct {
		name          string
		live, desired map[string]any
	}{
		{"data is a string", nil, secret(nil, map[string]any{"data": "hunter2"})},
		{"data is a list", secret(nil, map[string]any{"data": []any{"s3cr3t-old"}}), secret(nil, map[string]any{"data": []any{"s3cr3t-new"}})},
		{"non-string values", secret(map[string]any{"a": []any{"hunter2"}}, nil), secret(map[string]any{"a": map[string]any{"x": "s3cr3t-new"}}, nil)},
		{"stringData is a string", nil, secret(nil, map[string]any{"stringData": "string-data-value"})},
		{"only live is a Secret", secret(map[string]any{"k": b64("removed-value")}, nil), nil},
		{"Secret without apiVersion", nil, map[string]any{"kind": "Secret", "metadata": map[string]any{"name": "x"}, "data": map[string]any{"k": "added-value"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := DiffMaps(tt.live, tt.desired, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Changed {
				t.Fatal("no change found")
			}
			assertNoSecrets(t, res.Text)
		})
	}
}

// TestSecretErrorsHideValues: an error about a Secret names it but never its data.
func TestSecretErrorsHideValues(t *testing.T) {
	bad := secret(map[string]any{"k": "hunter2", "ch": make(chan int)}, nil)
	_, err := DiffMaps(nil, bad, Options{})
	if err == nil {
		t.Fatal("a value with no JSON form was accepted")
	}
	assertNoSecrets(t, err.Error())
}
