package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/landfall-dev/landfall/render"
	"github.com/landfall-dev/landfall/sandbox"
)

// renderSandboxFlags choose how renders are bounded: in a child process of this binary
// with a memory limit and a timeout (the default), or in this process.
type renderSandboxFlags struct {
	enabled     bool
	memory      string
	timeout     time.Duration
	concurrency int
}

func (f *renderSandboxFlags) register(fl *pflag.FlagSet) {
	fl.BoolVar(&f.enabled, "render-sandbox", true, "render in child processes with a memory limit and a timeout")
	fl.StringVar(&f.memory, "render-memory-limit", "320Mi", "memory one render may use (with --render-sandbox)")
	fl.DurationVar(&f.timeout, "render-timeout", sandbox.DefaultTimeout, "time one render may take (with --render-sandbox)")
	fl.IntVar(&f.concurrency, "render-concurrency", sandbox.DefaultMaxConcurrent, "renders running at once (with --render-sandbox)")
}

// isolator returns the configured child-process runner, or nil when renders run in this
// process.
func (f *renderSandboxFlags) isolator() (render.Isolator, error) {
	if !f.enabled {
		return nil, nil
	}
	var limit int64
	if f.memory != "" {
		q, err := resource.ParseQuantity(f.memory)
		if err != nil || q.Value() <= 0 {
			return nil, fmt.Errorf("--render-memory-limit %q: want a positive quantity such as 320Mi", f.memory)
		}
		limit = q.Value()
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this binary for the render sandbox: %w", err)
	}
	return sandbox.New(sandbox.Config{Command: []string{exe}, MaxMemory: limit, Timeout: f.timeout, MaxConcurrent: f.concurrency})
}
