package gitserver

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Commit writes files (path relative to the repository root → content) on top of branch,
// commits, pushes with git and returns the new commit. A new branch starts empty.
func (s *Server) Commit(tb TB, branch string, files map[string]string) string {
	tb.Helper()
	return s.CommitChange(tb, branch, writeFiles(tb, files))
}

// CommitChange lets change edit the work tree at dir freely (files, symlinks, deletions)
// on top of branch, then commits everything, pushes and returns the new commit.
func (s *Server) CommitChange(tb TB, branch string, change func(dir string)) string {
	tb.Helper()
	return s.commitWith(tb, branch, change, func() {
		s.git(tb, s.work, "commit", "--quiet", "--allow-empty", "--no-verify", "-m", "change on "+branch)
	})
}

// CommitChangeAs is CommitChange with a commit message and an author ("Name <email>"), as
// a person would push.
func (s *Server) CommitChangeAs(tb TB, branch, author, message string, change func(dir string)) string {
	tb.Helper()
	return s.commitWith(tb, branch, change, func() {
		s.git(tb, s.work, "commit", "--quiet", "--allow-empty", "--no-verify", "--author", author, "-m", message)
	})
}

// CommitMessage commits files on top of branch with message (git's -F, so any bytes),
// pushes and returns the new commit.
func (s *Server) CommitMessage(tb TB, branch string, files map[string]string, message string) string {
	tb.Helper()
	msgFile := filepath.Join(tb.TempDir(), "message")
	if err := os.WriteFile(msgFile, []byte(message), 0o600); err != nil {
		tb.Fatal(err)
	}
	return s.commitWith(tb, branch, writeFiles(tb, files), func() {
		s.git(tb, s.work, "commit", "--quiet", "--allow-empty", "--no-verify", "--cleanup=verbatim", "-F", msgFile)
	})
}

// commitWith checks branch out, lets change edit the work tree, stages everything, makes
// the commit with commit, pushes and returns the new commit.
func (s *Server) commitWith(tb TB, branch string, change func(dir string), commit func()) string {
	tb.Helper()
	if s.hasRef("refs/heads/" + branch) {
		s.git(tb, s.work, "fetch", "--quiet", "origin", "refs/heads/"+branch)
		s.git(tb, s.work, "checkout", "--quiet", "--force", "-B", branch, "FETCH_HEAD")
	} else {
		s.git(tb, s.work, "checkout", "--quiet", "--force", "--orphan", branch)
		s.git(tb, s.work, "rm", "-r", "--quiet", "--force", "--ignore-unmatch", ".")
	}
	change(s.work)
	s.git(tb, s.work, "add", "--all")
	commit()
	s.git(tb, s.work, "push", "--quiet", "--force", "origin", "HEAD:refs/heads/"+branch)
	return s.git(tb, s.work, "rev-parse", "HEAD")
}

// Tag tags commit and pushes the tag; annotated makes an annotated tag object.
func (s *Server) Tag(tb TB, name, commit string, annotated bool) {
	tb.Helper()
	args := []string{"tag", "--force"}
	if annotated {
		args = append(args, "-a", "-m", "release "+name)
	}
	s.git(tb, s.work, append(args, name, commit)...)
	s.git(tb, s.work, "push", "--quiet", "--force", "origin", "refs/tags/"+name)
}

// PushRef points an arbitrary ref (e.g. refs/pull/1/head) at commit on the server.
func (s *Server) PushRef(tb TB, ref, commit string) {
	tb.Helper()
	s.git(tb, s.work, "push", "--quiet", "--force", "origin", commit+":"+ref)
}

// DeleteRef deletes a ref on the server.
func (s *Server) DeleteRef(tb TB, ref string) {
	tb.Helper()
	s.git(tb, s.work, "push", "--quiet", "origin", "--delete", ref)
}

// Head returns the commit a ref points to on the server, or "" when it does not exist.
func (s *Server) Head(tb TB, ref string) string {
	tb.Helper()
	if !s.hasRef(ref) {
		return ""
	}
	return s.git(tb, s.BareDir, "rev-parse", ref+"^{commit}")
}

func (s *Server) hasRef(ref string) bool {
	cmd := exec.Command("git", "-C", s.BareDir, "rev-parse", "--verify", "--quiet", ref)
	cmd.Env = s.env
	return cmd.Run() == nil
}

// git runs git in dir and returns its trimmed output, failing the test on error.
func (s *Server) git(tb TB, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("gitserver: git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}
