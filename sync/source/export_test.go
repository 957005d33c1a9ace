package source

import "time"

// SetMetadataRecheck and SetMaxWatches change the watch's knobs for one test; the
// returned func restores them. The package's tests do not run in parallel.
func SetMetadataRecheck(d time.Duration) func() {
	old := metadataRecheck
	metadataRecheck = d
	return func() { metadataRecheck = old }
}

func SetMaxWatches(n int) func() {
	old := maxWatches
	maxWatches = n
	return func() { maxWatches = old }
}
