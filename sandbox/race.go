//go:build race

package sandbox

// RaceEnabled reports a binary built with -race. The race detector maps terabytes of
// shadow memory at fixed addresses, so such a process cannot run under an address-space
// cap: its children keep only the timeout and the output limit. Only tests are built so.
const RaceEnabled = true
