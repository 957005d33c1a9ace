package main

import (
	"os"
	"testing"

	"github.com/landfall-dev/landfall/render"
	"github.com/landfall-dev/landfall/sandbox"
)

// TestMain lets this test binary be the render sandbox child of the commands it runs, as
// the landfall binary is for itself.
func TestMain(m *testing.M) {
	sandbox.Main(render.ServeIsolated)
	os.Exit(m.Run())
}
