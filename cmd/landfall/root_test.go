package main

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// namesObjects matches the arguments of a command's Use that name cluster objects.
var namesObjects = regexp.MustCompile(`\b(APPLICATION|REPOSITORY|NAME)\b`)

// Every command shows how it is used; one that takes an object's name completes it, as
// does every flag naming an environment, a revision or a namespace; and every command that
// shows objects takes -o.
func TestEveryCommandHasAnExampleAndCompletes(t *testing.T) {
	showsObjects := map[string]bool{"landfall get": true, "landfall status": true, "landfall events": true,
		"landfall history": true, "landfall tree": true, "landfall reconcile repository": true}
	completing := 0
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			path := sub.CommandPath()
			if sub.Example == "" {
				t.Errorf("%s has no Example", path)
			}
			_, args, _ := strings.Cut(sub.Use, " ")
			if sub.Runnable() && namesObjects.MatchString(args) {
				completing++
				if sub.ValidArgsFunction == nil {
					t.Errorf("%s takes %s but completes no names (ValidArgsFunction)", path, args)
				}
			}
			for _, flag := range []string{"env", "to", "namespace"} {
				cluster := sub.Flags().Lookup("kubeconfig") != nil // render's -n is a local choice
				if _, ok := sub.GetFlagCompletionFunc(flag); cluster && sub.Flags().Lookup(flag) != nil && !ok {
					t.Errorf("%s --%s completes nothing", path, flag)
				}
			}
			if showsObjects[path] && sub.Flags().Lookup("output") == nil {
				t.Errorf("%s shows objects but has no -o", path)
			}
			delete(showsObjects, path)
			walk(sub)
		}
	}
	walk(newRootCmd())
	for missing := range showsObjects {
		t.Errorf("%s is not a command", missing)
	}
	if completing < 12 {
		t.Errorf("only %d commands name objects: the Use pattern no longer finds them", completing)
	}
}

// On a terminal, progress rewrites one line with the step and the elapsed time, and clears
// it at the end; anywhere else it writes nothing.
func TestProgressOnlyOnATerminal(t *testing.T) {
	var tty, pipe bytes.Buffer
	for _, p := range []*progress{{w: &tty, tty: true, start: time.Now()}, newProgress(&pipe)} {
		p.step("Applying 3 objects")
		p.step("Waiting for health")
		p.done()
	}
	if pipe.Len() != 0 {
		t.Errorf("not a terminal, yet progress wrote %q", pipe.String())
	}
	want := "\r\033[KApplying 3 objects (0s)\r\033[KWaiting for health (0s)\r\033[K"
	if tty.String() != want {
		t.Errorf("terminal progress = %q, want %q", tty.String(), want)
	}
}

// The standard kubeconfig flags are there, and an unreachable cluster is an error (2), not
// a finding (1).
func TestKubeconfigFlags(t *testing.T) {
	for _, name := range []string{"kubeconfig", "context", "as", "token", "server", "request-timeout", "namespace", "all-namespaces"} {
		cmd, _, err := newRootCmd().Find([]string{"get"})
		if err != nil || cmd.Flags().Lookup(name) == nil {
			t.Errorf("landfall get has no --%s", name)
		}
	}
	var stderr bytes.Buffer
	code := execute(t.Context(), []string{"status", "--server", "https://127.0.0.1:1", "--insecure-skip-tls-verify", "--request-timeout", "2s"}, io.Discard, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), "127.0.0.1:1") {
		t.Errorf("exit %d, stderr %q: want 2 and the unreachable server named", code, stderr.String())
	}
}
