// Command landfall is the Landfall GitOps reconciler: the controller and its command line.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/landfall-dev/landfall/render"
	// The SOPS reader: without it, every SOPS-encrypted file is refused (see render/decrypt).
	_ "github.com/landfall-dev/landfall/render/decrypt/sopsfile"
	"github.com/landfall-dev/landfall/sandbox"
)

// Exit codes, as git diff --exit-code and kubectl diff use them: scripts can tell "differs"
// from "failed".
const (
	exitOK       = 0 // success
	exitFindings = 1 // differences found, or a check failed
	exitError    = 2 // usage or runtime error
)

func main() {
	sandbox.Main(render.ServeIsolated) // a render child of this binary serves its one render and exits
	os.Exit(execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// execute runs one command line and returns its exit code.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "Error:", err)
	return exitCode(err)
}

func exitCode(err error) int {
	var f findingError
	if errors.As(err, &f) {
		return exitFindings
	}
	return exitError
}

// findingError is an answer rather than a failure: differences were found, or a check the
// user asked for did not pass. It exits 1; every other error exits 2.
type findingError struct{ msg string }

func (e findingError) Error() string { return e.msg }

// finding returns an error that exits 1.
func finding(format string, args ...any) error {
	return findingError{msg: fmt.Sprintf(format, args...)}
}
