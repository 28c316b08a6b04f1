package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	switchyard "github.com/switchyard/switchyard"
	"github.com/switchyard/switchyard/backend/debug"
	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/routines"
	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/servertest"
	"github.com/switchyard/switchyard/backend/store"
)

// BenchmarkDebugger is the chain, one job after another with every event
// stored, without hooks, with the debugger and no breakpoints, and with 10
// flow breakpoints (one per transform) whose conditions never match: what
// the debugger costs when nobody debugs.
func BenchmarkDebugger(b *testing.B) {
	for _, c := range []struct {
		name        string
		hooks       bool
		breakpoints int
	}{{"no-hooks", false, 0}, {"unused", true, 0}, {"10-conditions", true, 10}} {
		b.Run(c.name, func(b *testing.B) {
			r, dbg := newDebugRig(b, c.hooks, c.breakpoints)
			defer r.st.Close()
			b.ResetTimer()
			start, cpu := time.Now(), cpuTime()
			for i := 0; i < b.N; i++ {
				<-r.run(b, i)
			}
			if err := r.st.Writer.Sync(context.Background()); err != nil {
				b.Fatal(err)
			}
			if dbg != nil { // the jobs' copies of the flow breakpoints are stored too
				if err := dbg.Flush(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			r.report(b, b.N, elapsed, cpuTime()-cpu)
		})
	}
}

func newDebugRig(b *testing.B, hooks bool, breakpoints int) (*rig, *debug.Debugger) {
	ctx := context.Background()
	migrations, _ := fs.Sub(switchyard.Migrations, "migrations")
	quiet := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, b.TempDir(), migrations, quiet)
	if err != nil {
		b.Fatal(err)
	}
	f, err := st.CreateFlow(ctx, chainFlow(b))
	if err != nil {
		b.Fatal(err)
	}
	reg := engine.NewRegistry()
	routines.Register(reg)
	opts := engine.Options{Logger: quiet}
	var dbg *debug.Debugger
	if hooks {
		if dbg, err = debug.New(ctx, st, nil, debug.Options{Logger: quiet}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = dbg.Close() })
		opts.Hooks = dbg
	}
	eng := engine.New(reg, events.NewBus(st.Writer), opts)
	if dbg != nil {
		dbg.Attach(eng)
	}
	for i := 1; i <= breakpoints; i++ {
		cond := "data.value < 0"
		in := debug.BreakpointInput{Type: debug.TypeRoutine, RoutineID: fmt.Sprintf("t%d", i), Condition: &cond}
		if _, err := dbg.CreateBreakpoint(ctx, store.ScopeFlow, f.ID, in); err != nil {
			b.Fatal(err)
		}
	}
	return &rig{st: st, eng: eng, f: f}, dbg
}

// BenchmarkBreakpointHitLatency is the time from a breakpoint_hit event
// (its timestamp, taken as the activation reaches the breakpoint) to its
// arrival on a /debug socket of the real server.
func BenchmarkBreakpointHitLatency(b *testing.B) {
	in := servertest.Start(b, server.Config{})
	post := func(path, body string) {
		resp, err := http.Post(in.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			b.Fatalf("POST %s: %d", path, resp.StatusCode)
		}
	}
	post("/api/flows", `{"dsl": "flow_id: pair\nroutines:\n  start: {kind: input}\n  next: {kind: transform, config: {expr: data}}\nconnections:\n  - {from: start.output, to: next.input}\n"}`)
	var latencies []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := startJob(b, in.URL, `{"flow_id": "pair", "stop_on_entry": true}`)
		c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(in.URL, "http")+"/api/ws/jobs/"+id+"/debug", nil)
		if err != nil {
			b.Fatal(err)
		}
		readHit(b, c) // the stop on entry, replayed
		post("/api/jobs/"+id+"/breakpoints", `{"routine_id": "next"}`)
		post("/api/jobs/"+id+"/debug/resume", "")
		at := readHit(b, c)
		latencies = append(latencies, time.Since(at))
		post("/api/jobs/"+id+"/cancel", "")
		c.Close()
	}
	b.StopTimer()
	slices.Sort(latencies)
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(0, "ns/op")
}

func startJob(b *testing.B, base, body string) string {
	resp, err := http.Post(base+"/api/jobs", "application/json", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var j struct {
		JobID string `json:"job_id"`
	}
	if err := jsonDecode(resp, &j); err != nil || j.JobID == "" {
		b.Fatalf("start job: %v", err)
	}
	return j.JobID
}

// readHit reads messages until a breakpoint_hit and returns its timestamp.
func readHit(b *testing.B, c *websocket.Conn) time.Time {
	for {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var m struct {
			Type      string `json:"type"`
			Timestamp string `json:"timestamp"`
		}
		if err := c.ReadJSON(&m); err != nil {
			b.Fatal(err)
		}
		if m.Type == "breakpoint_hit" {
			at, err := time.Parse(time.RFC3339Nano, m.Timestamp)
			if err != nil {
				b.Fatal(err)
			}
			return at
		}
	}
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }
