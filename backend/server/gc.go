package server

import (
	"os"
	"runtime/debug"
)

// gcPercent is the server's GOGC. Its live heap is small (tens of MB) while
// it allocates quickly (events, activations), so at Go's default of 100 the
// collector runs every few MB and took about a quarter of the CPU in the
// chain benchmark; 400 lets the heap grow to five times the live data
// between collections instead.
const gcPercent = 400

// TuneGC applies the server's garbage-collector setting, unless the GOGC
// environment variable chooses one.
func TuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
}
