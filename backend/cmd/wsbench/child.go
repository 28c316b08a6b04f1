package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/olahol/melody"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/ws"
)

// The servers under test run in a child process (this binary with -child),
// so their memory is measured alone and the clients' CPU work is not in
// their process. A child prints "ADDR host:port" and serves until its
// stdin closes. Besides the server's own routes it answers:
//
//	GET  /bench/mem      heap, stack (after GC) and RSS of the process
//	GET  /bench/sessions open WebSocket sessions (melody child)
//	POST /bench/open     switchyard: ?job=ID lets that job's pulse routine
//	                     start; melody: ?count=N&rate=R starts broadcasting

func runChild(kind string, queue int) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bench/mem", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(readMem())
	})
	var cleanup func()
	switch kind {
	case "switchyard":
		dir, err := os.MkdirTemp("", "wsbench-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		logger := slog.New(slog.DiscardHandler)
		if os.Getenv("WSBENCH_SERVER_LOG") != "" { // the server's log on stderr, to see what it did
			logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
		srv, err := server.New(context.Background(), server.Config{DataDir: dir, Version: "wsbench", Logger: logger,
			Streams: ws.Config{QueueSize: queue}})
		if err != nil {
			return err
		}
		srv.Engine.Registry().MustRegister(pulseKind())
		mux.HandleFunc("POST /bench/open", func(w http.ResponseWriter, r *http.Request) {
			openGate(r.URL.Query().Get("job"))
		})
		mux.Handle("/", srv.Handler)
		cleanup = func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = srv.Close(ctx)
		}
	case "melody":
		m := melody.New() // a plain hub: defaults, Broadcast to every session
		mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) { _ = m.HandleRequest(w, r) })
		mux.HandleFunc("GET /bench/sessions", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, m.Len()) })
		mux.HandleFunc("POST /bench/open", func(w http.ResponseWriter, r *http.Request) {
			count, _ := strconv.Atoi(r.URL.Query().Get("count"))
			rate, _ := strconv.Atoi(r.URL.Query().Get("rate"))
			pad, _ := strconv.Atoi(r.URL.Query().Get("pad"))
			if rate <= 0 || count < 0 || pad < 0 {
				http.Error(w, "want count, rate > 0, pad", http.StatusBadRequest)
				return
			}
			padding := strings.Repeat("x", pad)
			go func() {
				_ = pace(context.Background(), count, rate, func(i int) error {
					return m.Broadcast(baselineFrame(i, time.Now(), padding))
				})
			}()
		})
		cleanup = func() { _ = m.Close() }
	default:
		return fmt.Errorf("unknown child kind %q", kind)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	fmt.Printf("ADDR %s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it (or dies)
	cleanup()
	_ = hs.Close()
	return nil
}

type memStats struct {
	HeapInuse  uint64 `json:"heap_inuse"`
	StackInuse uint64 `json:"stack_inuse"`
	RSS        uint64 `json:"rss"` // bytes
	Goroutines int    `json:"goroutines"`
}

func readMem() memStats {
	runtime.GC()
	debug.FreeOSMemory() // another GC, and unused memory back to the OS so RSS means something
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memStats{HeapInuse: ms.HeapInuse, StackInuse: ms.StackInuse, RSS: rssOf(os.Getpid()), Goroutines: runtime.NumGoroutine()}
}

// rssOf reads VmRSS of a process, in bytes.
func rssOf(pid int) uint64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// gates hold each job's pulse routine until the clients are connected.
var gates sync.Map // job id → chan struct{}

func gate(jobID string) chan struct{} {
	ch, _ := gates.LoadOrStore(jobID, make(chan struct{}))
	return ch.(chan struct{})
}

var gateMu sync.Mutex

func openGate(jobID string) {
	gateMu.Lock()
	defer gateMu.Unlock()
	ch := gate(jobID)
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// pulseKind emits count events at rate per second on "tick", each with
// its index, sent_at (Unix nanoseconds, taken just before the emit) and
// optionally pad bytes of padding, once the bench opens the job's gate.
func pulseKind() engine.Kind {
	return engine.Kind{
		Name:        "pulse",
		Description: "Benchmark source: emits count ticks at rate per second, each {i, sent_at}.",
		Slots:       []string{"input"},
		Events:      []string{"tick"},
		Config: []engine.ConfigField{
			{Name: "count", Type: "number", Required: true, Description: "Events to emit."},
			{Name: "rate", Type: "number", Required: true, Description: "Events per second."},
			{Name: "pad", Type: "number", Default: 0, Description: "Bytes of padding in each event (a \"pad\" string)."},
		},
		Build: func(cfg map[string]any) (engine.Runner, error) {
			count, ok1 := toInt(cfg["count"])
			rate, ok2 := toInt(cfg["rate"])
			pad, ok3 := toInt(cfg["pad"])
			if cfg["pad"] == nil {
				pad, ok3 = 0, true
			}
			if !ok1 || !ok2 || !ok3 || count < 0 || rate <= 0 || pad < 0 {
				return nil, fmt.Errorf("config.count and config.rate must be positive numbers, config.pad a number ≥ 0")
			}
			padding := strings.Repeat("x", pad)
			return engine.RunnerFunc(func(ctx context.Context, a *engine.Activation) error {
				select {
				case <-gate(a.JobID()):
				case <-ctx.Done():
					return ctx.Err()
				}
				return pace(ctx, count, rate, func(i int) error {
					data := map[string]any{"i": i, "sent_at": time.Now().UnixNano()}
					if pad > 0 {
						data["pad"] = padding
					}
					return a.Emit(ctx, "tick", data)
				})
			}), nil
		},
	}
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case uint64:
		return int(x), true
	case float64:
		return int(x), x == float64(int(x))
	}
	return 0, false
}

// pace calls emit count times at rate per second, on schedule: event i is
// due at start + i/rate; a late wakeup emits everything that is due.
func pace(ctx context.Context, count, rate int, emit func(i int) error) error {
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	for i := 0; i < count; {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		for now := time.Now(); i < count && !start.Add(time.Duration(i)*interval).After(now); i++ {
			if err := emit(i); err != nil {
				return err
			}
		}
	}
	return nil
}

// baselineFrame is the melody baseline's message for event i: the same
// layout and size as Switchyard's seed 004 execution_event of a tick,
// serialized once and broadcast to every session.
func baselineFrame(i int, now time.Time, padding string) []byte {
	ts := now.UTC().Format(time.RFC3339Nano)
	pad := ""
	if padding != "" {
		pad = `"pad":"` + padding + `",`
	}
	return fmt.Appendf(nil, `{"type":"execution_event","job_id":"job_baseline00000000000","timestamp":%q,"event":{"event_id":"evt_%d","routine_id":"p","event_type":"event_emit","timestamp":%q,"data":{"event_name":"tick","event_data":{"i":%d,%s"sent_at":%d}}},"seq":%d}`,
		ts, i+3, ts, i, pad, now.UnixNano(), i+3)
}
