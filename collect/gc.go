package collect

import "runtime/debug"

// TuneGC sets the collector's garbage-collector targets unless the environment (getenv) sets
// GOGC or GOMEMLIMIT, which the runtime then applies. The request path allocates short-lived
// buffers and events and the live heap stays small: a higher GC target trades a few tens of MB
// for much less GC CPU, and the soft memory limit keeps the process well inside a 200 MB
// container.
func TuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(150 << 20)
	}
}
