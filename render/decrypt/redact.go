package decrypt

import (
	"encoding/base64"
	"sort"
	"strings"
	"unicode/utf8"
)

// Masked replaces a clear value in messages.
const Masked = "<redacted>"

// minRedacted is the shortest value replaced in messages: shorter ones ("80", "true") are
// not secrets worth the false matches, and would turn every message to noise.
const minRedacted = 4

func addValue(seen map[string]bool, v string) {
	if len(v) < minRedacted {
		return
	}
	addLines(seen, v)
	if b, err := base64.StdEncoding.DecodeString(v); err == nil && len(b) >= minRedacted && utf8.Valid(b) {
		addLines(seen, string(b))
	}
}

// addLines adds a value and, for a value of several lines (a key, a certificate, a whole
// file), each of its lines, which a message may quote alone.
func addLines(seen map[string]bool, v string) {
	seen[v] = true
	if !strings.Contains(v, "\n") {
		return
	}
	for line := range strings.Lines(v) {
		if line = strings.TrimSpace(line); len(line) >= minRedacted {
			seen[line] = true
		}
	}
}

func sortedValues(seen map[string]bool) []string {
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i]) != len(out[j]) {
			return len(out[i]) > len(out[j])
		}
		return out[i] < out[j]
	})
	return out
}

// Redact replaces every occurrence of the values (as returned by Keys.File, or any other
// secret strings) in msg by Masked, whole values first.
func Redact(msg string, values []string) string {
	if len(values) == 0 {
		return msg
	}
	for _, v := range Sensitive(values) {
		msg = strings.ReplaceAll(msg, v, Masked)
	}
	return msg
}

// Sensitive returns the values as Redact masks them: each, the decoded form of those that are
// base64 (a Secret's data) and the lines of those of several lines, without the ones too short
// to mask, longest first.
func Sensitive(values []string) []string {
	seen := map[string]bool{}
	for _, v := range values {
		addValue(seen, v)
	}
	return sortedValues(seen)
}
