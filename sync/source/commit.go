package source

import (
	"bufio"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Bounds of CommitInfo, as the API declares them.
const (
	MaxCommitSubject = 72
	MaxCommitAuthor  = 64
	// maxCommitObject bounds what is read of a kept commit object; a larger one (a
	// message of megabytes) gives no CommitInfo rather than a large read.
	maxCommitObject = 64 << 10
)

// CommitInfo is what a person reads of a commit: the first line of its message and its
// author's name, each cut to its bound. The e-mail address is left out.
type CommitInfo struct {
	Subject string
	Author  string
}

// keptCommitInfo reads the commit object that keepObjects wrote first in objectsFile. The
// file was verified with the checkout (its hash chain starts at the commit), so what it says
// is the commit's. Any failure gives an empty CommitInfo: it is shown, never relied on.
func keptCommitInfo(objectsFile string) CommitInfo {
	f, err := os.Open(objectsFile)
	if err != nil {
		return CommitInfo{}
	}
	defer f.Close()
	r := bufio.NewReader(io.LimitReader(f, maxCommitObject))
	header, err := r.ReadString(0)
	if err != nil {
		return CommitInfo{}
	}
	o, err := parseObject(r, header)
	if err != nil || o.Type() != plumbing.CommitObject {
		return CommitInfo{}
	}
	var c object.Commit
	if err := c.Decode(o); err != nil {
		return CommitInfo{}
	}
	subject, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
	return CommitInfo{Subject: bounded(subject, MaxCommitSubject), Author: bounded(c.Author.Name, MaxCommitAuthor)}
}

// bounded is s as one line of valid UTF-8 without control characters, cut to at most max
// characters, the last one "…" when cut.
func bounded(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max-1]) + "…"
}
