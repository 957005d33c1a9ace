package controllers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"text/template"
)

// maxNamespace is the longest namespace name: a DNS-1123 label.
const maxNamespace = 63

// maxChildName bounds the names of a Preview's children: the Application's name is the
// default Helm release name, which Helm limits to 53 characters.
const maxChildName = 53

// namespaceVars are what a Preview's namespaceTemplate may use.
type namespaceVars struct {
	// Number of the pull request; 0 for a branch.
	Number int64
	// Branch is the branch name for refs/heads/… refs; for other refs (a pull request's
	// refs/pull/7/head, whose branch the Git host does not advertise) the ref without refs/.
	Branch string
	// ShortSHA is the first 7 characters of the head commit.
	ShortSHA string
}

// parseNamespaceTemplate parses a namespaceTemplate; a missing field is an error, not
// "<no value>".
func parseNamespaceTemplate(text string) (*template.Template, error) {
	t, err := template.New("namespaceTemplate").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("namespaceTemplate: %w", err)
	}
	return t, nil
}

// previewNamespace renders the template for one pull request and makes the result a safe
// namespace name (see safeName). The template's output is bounded before it is cleaned, so
// a template cannot make the controller hold a huge string.
func previewNamespace(t *template.Template, vars namespaceVars) (string, error) {
	var out bytes.Buffer
	if err := t.Execute(&limitWriter{w: &out, n: 1024}, vars); err != nil {
		return "", fmt.Errorf("namespaceTemplate: %w", err)
	}
	return safeName(out.String(), maxNamespace), nil
}

// alternateNamespace is the name to use when name is taken by a namespace Landfall did not
// create for this pull request: the name with a hash of the Preview and the ref, which no
// other pull request shares.
func alternateNamespace(name, salt string) string {
	return withHash(name, salt, maxNamespace)
}

// safeName makes raw a DNS-1123 label of at most max characters that is never a reserved
// namespace (default, kube-*): lowercase letters, digits and '-', starting and ending with
// a letter or digit. A name that had to be changed or shortened ends in a short hash of
// raw, so two different inputs never end up with the same name ("Feature/x" and
// "feature-x" differ); a name that is already safe is kept as it is.
func safeName(raw string, max int) string {
	name := sanitize(raw)
	if reservedNamespace(name) {
		name = "pr-" + name
	}
	if name == raw && len(name) <= max {
		return name
	}
	return withHash(name, raw, max)
}

// withHash shortens name to leave room for "-<8 hex digits of sha256(salt)>" within max.
func withHash(name, salt string, max int) string {
	sum := sha256.Sum256([]byte(salt))
	h := hex.EncodeToString(sum[:])[:8]
	name = strings.TrimRight(name[:min(len(name), max-len(h)-1)], "-")
	if name == "" {
		return "pr-" + h
	}
	return name + "-" + h
}

// sanitize lowercases s, turns every run of characters other than [a-z0-9] into one '-' and
// trims '-' from both ends.
func sanitize(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

// reservedNamespace: the namespaces Kubernetes itself uses, and any future kube-* one.
func reservedNamespace(name string) bool {
	return name == "" || name == "default" || name == "kube" || strings.HasPrefix(name, "kube-")
}

// childName names a pull request's child Repository and Application: "<preview>-pr-<n>",
// or "<preview>-<branch>" for a branch, made safe the same way as namespaces.
func childName(preview string, pr pullRequest) string {
	if pr.Number > 0 {
		return safeName(preview+"-pr-"+strconv.FormatInt(pr.Number, 10), maxChildName)
	}
	return safeName(preview+"-"+pr.Branch, maxChildName)
}

// limitWriter fails writes past n bytes.
type limitWriter struct {
	w *bytes.Buffer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.w.Len()+len(p) > l.n {
		return 0, fmt.Errorf("the rendered name is longer than %d bytes", l.n)
	}
	return l.w.Write(p)
}
