package server

import (
	"context"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
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

// DefaultMemoryLimit is the soft memory limit serve sets unless told
// otherwise.
const DefaultMemoryLimit = 1 << 30

// SetMemoryLimit gives the Go runtime a soft memory limit
// (debug.SetMemoryLimit), unless the GOMEMLIMIT environment variable
// chooses one; 0 (or less) turns it off. It is a goal for the collector,
// not a cap: near the limit the GC runs more often (whatever GOGC says) and
// the runtime returns freed memory to the OS sooner, but a live heap larger
// than the limit is not refused, and memory outside the Go heap (scripts'
// QuickJS runtimes, SQLite's cache) is not counted.
//
// Until ctx ends it also returns memory freed after a spike: the runtime's
// background scavenger gives back only what lies beyond the heap goal, and
// slowly, and at GOGC=400 an idle server may not collect for a long time, so
// a server that once needed 800 MB for a moment could keep holding it. Every
// few seconds, when more than releaseAbove bytes are garbage since the last
// collection or free but still held, debug.FreeOSMemory collects and hands
// them back (one extra collection per tick at most, on a busy server too).
func SetMemoryLimit(ctx context.Context, limit int64) {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		if limit <= 0 {
			limit = math.MaxInt64
		}
		debug.SetMemoryLimit(limit)
	}
	go releaseAfterSpikes(ctx, 5*time.Second)
}

// releaseAbove is the garbage or free-but-held heap memory worth a
// FreeOSMemory (which runs a full collection).
const releaseAbove = 64 << 20

func releaseAfterSpikes(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	sample := []metrics.Sample{
		{Name: "/memory/classes/heap/free:bytes"},    // free, not yet returned
		{Name: "/memory/classes/heap/objects:bytes"}, // live and dead objects
		{Name: "/gc/heap/live:bytes"},                // live at the last collection
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(sample)
		free, objects, live := sample[0].Value.Uint64(), sample[1].Value.Uint64(), sample[2].Value.Uint64()
		if free > releaseAbove || objects > live+releaseAbove {
			debug.FreeOSMemory()
		}
	}
}
