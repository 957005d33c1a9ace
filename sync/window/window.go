// Package window decides whether a sync may run now under a set of recurring allow and deny
// windows (cron schedule, duration, time zone), and when that answer next changes. It is
// pure: the caller passes the time.
package window

import (
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// Kind says whether a window allows or denies syncing.
type Kind string

// Window kinds.
const (
	Allow Kind = "allow"
	Deny  Kind = "deny"
)

// Window is a recurring period: it opens at each time Schedule names and stays open for
// Duration.
type Window struct {
	Kind       Kind
	Schedule   string // five-field cron expression
	Duration   time.Duration
	TimeZone   string // IANA name; UTC when empty
	ManualSync bool   // a manual sync request overrides this window
}

// Verdict is the answer for one moment.
type Verdict struct {
	// Allowed is true when a sync may run now.
	Allowed bool
	// ManualAllowed is true when a manual sync may run now (every blocking window allows it).
	ManualAllowed bool
	// Reason names the window that blocks, for status.
	Reason string
	// Next is when the answer may change: the blocking window closes or an allow window
	// opens. Zero when Allowed.
	Next time.Time
}

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Validate checks every window; the error names the bad one.
func Validate(windows []Window) error {
	var errs []error
	for i, w := range windows {
		if _, err := compile(w); err != nil {
			errs = append(errs, fmt.Errorf("syncWindows[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

type compiled struct {
	Window
	sched cron.Schedule
	loc   *time.Location
}

func compile(w Window) (compiled, error) {
	if w.Kind != Allow && w.Kind != Deny {
		return compiled{}, fmt.Errorf("kind %q is neither allow nor deny", w.Kind)
	}
	if w.Duration <= 0 {
		return compiled{}, fmt.Errorf("duration %s must be positive", w.Duration)
	}
	loc := time.UTC
	if w.TimeZone != "" {
		var err error
		if loc, err = time.LoadLocation(w.TimeZone); err != nil {
			return compiled{}, fmt.Errorf("time zone %q: %w", w.TimeZone, err)
		}
	}
	sched, err := parser.Parse(w.Schedule)
	if err != nil {
		return compiled{}, fmt.Errorf("schedule %q: %w", w.Schedule, err)
	}
	return compiled{Window: w, sched: sched, loc: loc}, nil
}

// open reports whether the window is open at now, and when the current opening closes.
func (c compiled) open(now time.Time) (bool, time.Time) {
	// The latest opening at or before now is found by stepping from now-duration: any
	// opening that still covers now started after that.
	t := c.sched.Next(now.Add(-c.Duration).In(c.loc).Add(-time.Second))
	for !t.IsZero() && !t.After(now) {
		if end := t.Add(c.Duration); end.After(now) {
			return true, end
		}
		t = c.sched.Next(t)
	}
	return false, time.Time{}
}

// nextOpen is when the window next opens after now.
func (c compiled) nextOpen(now time.Time) time.Time { return c.sched.Next(now.In(c.loc)) }

// Evaluate says whether a sync may run at now. With no windows everything is allowed; with
// allow windows a sync needs one of them open; an open deny window always blocks.
func Evaluate(windows []Window, now time.Time) (Verdict, error) {
	v := Verdict{Allowed: true, ManualAllowed: true}
	var allows []compiled
	anyAllowOpen, manualAllow := false, false
	for i, w := range windows {
		c, err := compile(w)
		if err != nil {
			return Verdict{}, fmt.Errorf("syncWindows[%d]: %w", i, err)
		}
		open, end := c.open(now)
		switch {
		case c.Kind == Deny && open:
			v.block(fmt.Sprintf("deny window %q is open until %s", c.Schedule, end.Format(time.RFC3339)), end, c.ManualSync)
		case c.Kind == Allow && open:
			anyAllowOpen = true
		case c.Kind == Allow:
			allows = append(allows, c)
			manualAllow = manualAllow || c.ManualSync
		}
	}
	if len(allows) > 0 && !anyAllowOpen {
		next := time.Time{}
		for _, c := range allows {
			if t := c.nextOpen(now); next.IsZero() || t.Before(next) {
				next = t
			}
		}
		v.block("outside every allow window; the next opens at "+next.Format(time.RFC3339), next, manualAllow)
	}
	return v, nil
}

func (v *Verdict) block(reason string, until time.Time, manual bool) {
	if v.Allowed || until.After(v.Next) {
		v.Next = until
	}
	if v.Allowed {
		v.Reason = reason
	}
	v.Allowed = false
	v.ManualAllowed = v.ManualAllowed && manual
}
