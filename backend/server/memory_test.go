package server_test

import (
	"context"
	"math"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/server"
)

func TestMaxOutputBytesThroughTheServer(t *testing.T) {
	in := startWith(t, server.Config{MaxOutputBytes: 4096})
	flow := `flow_id: big
routines:
  start: {kind: input}
  js: {kind: script, config: {code: "return 'x'.repeat(data.n);"}}
  done: {kind: output}
connections:
  - {from: start.output, to: js.input}
  - {from: js.output, to: done.input}
`
	if code := in.do("POST", "/api/flows", "application/yaml", flow, nil); code != http.StatusCreated {
		t.Fatalf("create flow: %d", code)
	}
	j := in.waitJob(in.startJob("big", `{"n": 10000}`).JobID, status("failed"))
	if want := `routine "js" failed: emitted 9 KB on "output", more than the 4 KB limit (--max-output-bytes)`; j.Error != want {
		t.Fatalf("error %q, want %q", j.Error, want)
	}
	if j := in.waitJob(in.startJob("big", `{"n": 100}`).JobID, status("completed")); j.Result != strings.Repeat("x", 100) {
		t.Fatalf("small result %v", j.Result)
	}
}

func TestSetMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t.Setenv("GOMEMLIMIT", "100MiB")
	debug.SetMemoryLimit(math.MaxInt64)
	server.SetMemoryLimit(ctx, 256<<20) // the environment chooses: left alone
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Fatalf("with GOMEMLIMIT set: limit %d", got)
	}
	os.Unsetenv("GOMEMLIMIT")
	server.SetMemoryLimit(ctx, 256<<20)
	if got := debug.SetMemoryLimit(-1); got != 256<<20 {
		t.Fatalf("limit %d", got)
	}
	server.SetMemoryLimit(ctx, 0)
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Fatalf("0 should turn the limit off, got %d", got)
	}
}

// TestFreedMemoryGoesBackAfterASpike: 300 MB allocated and dropped is
// handed back to the OS within seconds, not kept as free heap.
func TestFreedMemoryGoesBackAfterASpike(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	spike := make([][]byte, 300)
	for i := range spike {
		spike[i] = make([]byte, 1<<20)
		spike[i][0] = 1
	}
	runtime.KeepAlive(spike)
	spike = nil
	runtime.GC()
	began := time.Now()
	server.SetMemoryLimit(ctx, 1<<30)
	sample := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	for {
		metrics.Read(sample)
		free := sample[0].Value.Uint64()
		if free < 64<<20 {
			t.Logf("free heap held %d MB after %v", free>>20, time.Since(began).Round(time.Millisecond))
			return
		}
		if time.Since(began) > 15*time.Second {
			t.Fatalf("still %d MB free but held after 15s", free>>20)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestGarbageGoesBackWithoutACollection: at GOGC=400 an idle server may not
// collect after a spike at all; the releaser does.
func TestGarbageGoesBackWithoutACollection(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // no collection while the spike is made
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runtime.GC()
	for i := 0; i < 300; i++ {
		b := make([]byte, 1<<20)
		b[0] = 1
	}
	debug.SetGCPercent(400)
	began := time.Now()
	server.SetMemoryLimit(ctx, 1<<30)
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/free:bytes"}}
	for {
		metrics.Read(sample)
		objects, free := sample[0].Value.Uint64(), sample[1].Value.Uint64()
		if objects < 64<<20 && free < 64<<20 {
			t.Logf("heap objects %d MB, free held %d MB after %v", objects>>20, free>>20, time.Since(began).Round(time.Millisecond))
			return
		}
		if time.Since(began) > 15*time.Second {
			t.Fatalf("still %d MB of objects and %d MB free after 15s", objects>>20, free>>20)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
