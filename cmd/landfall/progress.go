package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// progress shows, on one rewritten line of standard error, what step the controller is on
// and how long the wait has taken. When standard error is not a terminal it writes nothing,
// so logs and pipes get only the result; standard output carries only the result either way.
type progress struct {
	w     io.Writer
	tty   bool
	start time.Time
	last  string
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, tty: isTerminal(w), start: time.Now()}
}

// isTerminal reports whether w is a terminal, as kubectl decides it: a file the terminal
// ioctl answers for (not merely a character device such as /dev/null).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (p *progress) step(what string) {
	if !p.tty || what == p.last && time.Since(p.start) < time.Second {
		return
	}
	p.last = what
	fmt.Fprintf(p.w, "\r\033[K%s (%s)", oneLine(what, 100), time.Since(p.start).Round(time.Second))
}

// done ends the progress line, so what is printed next starts on a line of its own.
func (p *progress) done() {
	if p.tty && p.last != "" {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// waitUntil polls check until it reports done, showing each step it names.
func waitUntil(ctx context.Context, timeout time.Duration, p *progress, check func(context.Context) (done bool, step string, err error)) error {
	defer p.done()
	return wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		done, step, err := check(ctx)
		if err == nil && !done {
			p.step(step)
		}
		return done, err
	})
}

// currentStep is what a Landfall object's conditions say it is doing: the Reconciling
// message while it works, else the Ready message.
func currentStep(conds []metav1.Condition) string {
	if c := apimeta.FindStatusCondition(conds, landfallv1.ConditionReconciling); c != nil && c.Status == metav1.ConditionTrue {
		return c.Message
	}
	if c := apimeta.FindStatusCondition(conds, landfallv1.ConditionReady); c != nil {
		return c.Message
	}
	return "waiting for the controller"
}

// judgeReady turns the end of a wait for a request into an exit code. Handled and Ready is
// success. Not Ready is a failed check (exit 1): once the request is handled (a failed
// sync, a rollback, Degraded health), and also when the wait ran out with the object not
// Ready for a reason other than work under way (a sync retried after each failure, an
// approval or a pin that holds it). Running out while the controller still works or before
// it answered is an error (exit 2), and so is failing to read the object.
func judgeReady(what string, conds []metav1.Condition, waitErr error, timeout time.Duration) error {
	if waitErr != nil && !wait.Interrupted(waitErr) {
		return fmt.Errorf("waiting for the controller to reconcile %s: %w", what, waitErr)
	}
	ready := apimeta.FindStatusCondition(conds, landfallv1.ConditionReady)
	working := apimeta.IsStatusConditionTrue(conds, landfallv1.ConditionReconciling)
	notReady := ready == nil || ready.Status != metav1.ConditionTrue
	switch {
	case waitErr != nil && (working || !notReady || ready == nil):
		return fmt.Errorf("%s: not done after %s (--timeout); the controller is at: %s", what, timeout, currentStep(conds))
	case notReady && ready == nil:
		return finding("%s is not ready: it has no Ready condition", what)
	case notReady:
		return finding("%s is not ready: %s: %s", what, ready.Reason, ready.Message)
	}
	return nil
}
