package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/server"
)

// The replay benchmarks share one stored job of about 200,000 events on
// one real server (built once per process, removed by TestMain): an input, then a "burst"
// routine that emits 50,000 ticks, each into a transform, so every tick is four
// events (the emit, the transform's start, its emit and its end) and the
// stream protocols have messages of every common shape. Seed 000 turns the
// log into ~150,000 messages, seed 004 into ~250,000.
//
//	go test -run '^$' -bench 'Replay|EventsREST' -benchtime 3x ./backend/bench/

const replayTicks = 50_000

type storedJob struct {
	url, id string
	events  int64
	err     error
	close   func()
}

var (
	replayOnce sync.Once
	replayJob  storedJob
)

func TestMain(m *testing.M) {
	code := m.Run()
	if replayJob.close != nil {
		replayJob.close()
	}
	os.Exit(code)
}

// sharedJob starts the server and runs the job the first time it is asked.
func sharedJob(b *testing.B) storedJob {
	replayOnce.Do(func() { replayJob = buildStoredJob() })
	if replayJob.err != nil {
		b.Fatal(replayJob.err)
	}
	return replayJob
}

func buildStoredJob() (j storedJob) {
	dir, err := os.MkdirTemp("", "replay-bench-*")
	if err != nil {
		return storedJob{err: err}
	}
	srv, err := server.New(context.Background(), server.Config{DataDir: dir, Version: "bench", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		os.RemoveAll(dir)
		return storedJob{err: err}
	}
	srv.Engine.Registry().MustRegister(burstKind())
	ts := httptest.NewServer(srv.Handler)
	j.url = ts.URL
	j.close = func() {
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
		os.RemoveAll(dir)
	}
	dsl := fmt.Sprintf("flow_id: burst\nroutines:\n  start: {kind: input}\n  src: {kind: burst, config: {count: %d}}\n  t: {kind: transform, config: {expr: \"{value: data.i * 2}\"}}\nconnections:\n  - {from: start.output, to: src.input}\n  - {from: src.tick, to: t.input}\n", replayTicks)
	body, _ := json.Marshal(map[string]string{"dsl": dsl})
	if err := postJSON(ts.URL+"/api/flows", string(body), nil); err != nil {
		j.err = err
		return j
	}
	var started struct {
		JobID  string `json:"job_id"`
		Status string `json:"status"`
		Events int64  `json:"events"`
	}
	if err := postJSON(ts.URL+"/api/jobs?wait=60s", `{"flow_id":"burst"}`, &started); err != nil {
		j.err = err
		return j
	}
	if started.Status != "completed" {
		j.err = fmt.Errorf("the burst job ended %q", started.Status)
		return j
	}
	j.id, j.events = started.JobID, started.Events
	return j
}

func postJSON(url, body string, out any) error {
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// burstKind emits config.count ticks {i} as fast as the engine takes them.
func burstKind() engine.Kind {
	return engine.Kind{
		Name:        "burst",
		Description: "Benchmark source: emits count ticks {i} at once.",
		Slots:       []string{"input"},
		Events:      []string{"tick"},
		Config:      []engine.ConfigField{{Name: "count", Type: "number", Required: true, Description: "Ticks to emit."}},
		Build: func(cfg map[string]any) (engine.Runner, error) {
			n, ok := toCount(cfg["count"])
			if !ok {
				return nil, fmt.Errorf("config.count must be a number ≥ 0")
			}
			return engine.RunnerFunc(func(ctx context.Context, a *engine.Activation) error {
				for i := range n {
					if err := a.Emit(ctx, "tick", map[string]any{"i": i}); err != nil {
						return err
					}
				}
				return nil
			}), nil
		},
	}
}

func toCount(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, x >= 0
	case int64:
		return int(x), x >= 0
	case uint64:
		return int(x), true
	case float64:
		return int(x), x >= 0 && x == float64(int(x))
	}
	return 0, false
}

// BenchmarkReplay is the replay of the stored job to one client: a real
// WebSocket client connects without since and reads every message (each
// one frame, read whole) up to the job's last one; messages/s is that
// count over the time from the dial to the last message.
func BenchmarkReplay(b *testing.B) {
	for _, ep := range []struct{ name, path, last string }{
		{"executions", "/api/ws/executions/%s", `"type":"completion"`},
		{"monitor", "/api/ws/jobs/%s/monitor", `"type":"job_completed"`},
	} {
		b.Run(ep.name, func(b *testing.B) {
			j := sharedJob(b)
			url := "ws" + strings.TrimPrefix(j.url, "http") + fmt.Sprintf(ep.path, j.id)
			b.ResetTimer()
			var msgs int64
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				n, d := replayOnceTo(b, url, []byte(ep.last))
				msgs += n
				elapsed += d
			}
			b.StopTimer()
			b.ReportMetric(float64(msgs)/float64(b.N), "msgs/op")
			b.ReportMetric(float64(msgs)/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(float64(j.events), "events")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// replayOnceTo reads one full replay and returns its message count.
func replayOnceTo(b *testing.B, url string, last []byte) (int64, time.Duration) {
	start := time.Now()
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 0, 4096)
	var n int64
	for {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		typ, r, err := c.NextReader()
		if err != nil {
			b.Fatalf("after %d messages: %v", n, err)
		}
		buf = buf[:0]
		for {
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			k, err := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+k]
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if typ != websocket.TextMessage || len(buf) == 0 || buf[0] != '{' {
			b.Fatalf("message %d is not a JSON text frame: %.80q", n, buf)
		}
		n++
		if bytes.Contains(buf, last) {
			return n, time.Since(start)
		}
	}
}

// BenchmarkEventsREST pages the same stored job through GET
// /api/jobs/{id}/events (10,000 a page, each page decoded as JSON).
func BenchmarkEventsREST(b *testing.B) {
	j := sharedJob(b)
	b.ResetTimer()
	start := time.Now()
	var total int64
	for i := 0; i < b.N; i++ {
		var since int64
		for {
			resp, err := http.Get(fmt.Sprintf("%s/api/jobs/%s/events?limit=10000&since=%d", j.url, j.id, since))
			if err != nil {
				b.Fatal(err)
			}
			var page struct {
				Events []struct {
					Seq int64 `json:"seq"`
				} `json:"events"`
				HasMore bool `json:"has_more"`
			}
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
			total += int64(len(page.Events))
			if len(page.Events) > 0 {
				since = page.Events[len(page.Events)-1].Seq
			}
			if !page.HasMore {
				break
			}
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if total != j.events*int64(b.N) {
		b.Fatalf("paged %d events, want %d", total, j.events*int64(b.N))
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(j.events), "events")
	b.ReportMetric(0, "ns/op")
}
