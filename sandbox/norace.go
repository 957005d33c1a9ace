//go:build !race

package sandbox

// RaceEnabled reports a binary built with -race (see race.go).
const RaceEnabled = false

func watchMemory(int64) {}
