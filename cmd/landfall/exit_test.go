package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestExitCodes(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want int
	}{
		{"success", []string{"version"}, exitOK},
		{"unknown flag", []string{"version", "--no-such-flag"}, exitError},
		{"unknown command", []string{"no-such-command"}, exitError},
		{"missing argument", []string{"render"}, exitError},
		{"runtime error", []string{"render", "no/such/folder"}, exitError},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if got := execute(t.Context(), c.args, &bytes.Buffer{}, &stderr); got != c.want {
				t.Errorf("landfall %s exited %d, want %d; stderr: %s", strings.Join(c.args, " "), got, c.want, stderr.String())
			}
			if c.want != exitOK && !strings.HasPrefix(stderr.String(), "Error: ") {
				t.Errorf("stderr = %q, want the error", stderr.String())
			}
		})
	}
	if got := exitCode(fmt.Errorf("diff: %w", errDiffering)); got != exitFindings {
		t.Errorf("a wrapped difference exits %d, want %d", got, exitFindings)
	}
}
