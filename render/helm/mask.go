package helm

import (
	"errors"
	"strings"

	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/landfall-dev/landfall/render/decrypt"
)

// maskValues keeps the values out of a template's execution error. The words of `fail`
// and `required` are the chart author's, but they print values into them (`fail (printf
// "bad password %s" .Values.password)`), and the message reaches the Ready condition, an
// Event and the log. Only the part after Helm's "execution error at (file:line:col): "
// is masked, so the location stays readable.
func maskValues(err error, vals any) error {
	msg := err.Error()
	const at = "execution error at ("
	i := strings.Index(msg, at)
	if i < 0 {
		return err
	}
	j := strings.Index(msg[i:], "): ")
	if j < 0 {
		return err
	}
	head, tail := msg[:i+j+3], msg[i+j+3:]
	masked := decrypt.Redact(tail, leafValues(vals))
	if masked == tail {
		return err
	}
	// A new error: unwrapping must not lead back to the message with the values.
	return errors.New(head + masked)
}

// leafValues lists the string values of a values tree. Booleans and numbers are left out:
// "true" or "3" masked in a message would garble the author's words more often than they
// hide a secret.
func leafValues(v any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case chartutil.Values:
			walk(map[string]any(v))
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		case string:
			out = append(out, v)
		}
	}
	walk(v)
	return out
}
