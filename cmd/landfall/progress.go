package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// progress shows, on one rewritten terminal line, what step the controller is on and how
// long the wait has taken. When the output is not a terminal it writes nothing, so logs and
// pipes get only the result.
type progress struct {
	w     io.Writer
	tty   bool
	start time.Time
	last  string
}

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, tty: ok && isTerminal(f), start: time.Now()}
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
