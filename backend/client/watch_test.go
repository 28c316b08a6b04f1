package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchyard/switchyard/backend/events"
)

// fakeServer speaks the stream protocol from a fixed script of frames, so
// the tests can cut a connection after any frame, including between two
// messages of one event.
type fakeServer struct {
	t      *testing.T
	frames []Message // in order; several may share a seq
	status string    // the job's status for GET /api/jobs/{id}

	mu    sync.Mutex
	cuts  []int         // frames to send on connection i before an abrupt close (-1: all)
	close []int         // close code to send instead of an abrupt cut (0: abrupt)
	conns []string      // since of each connection ("" for none)
	pings int           // text pings received
	gate  chan struct{} // when set, frames after the first wait for it
}

func (f *fakeServer) handler() http.Handler {
	up := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "job1" {
			http.Error(w, `{"error":{"code":"JOB_NOT_FOUND","message":"no job"}}`, http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"job_id": "job1", "status": f.status})
	})
	mux.HandleFunc("GET /api/jobs/{id}/events", func(w http.ResponseWriter, r *http.Request) {
		since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
		var evs []map[string]any
		seen := map[int64]bool{}
		for _, m := range f.frames {
			if m.Seq > since && !seen[m.Seq] {
				seen[m.Seq] = true
				evs = append(evs, map[string]any{"seq": m.Seq, "type": "x"})
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"events": evs, "has_more": false})
	})
	mux.HandleFunc("GET /api/ws/executions/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "job1" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":"JOB_NOT_FOUND","message":"job nope not found"}}`))
			return
		}
		rawSince := r.URL.Query().Get("since")
		var since events.Pos
		if rawSince != "" {
			p, err := events.ParsePos(rawSince)
			if err != nil {
				http.Error(w, `{"error":{"code":"BAD_QUERY","message":"since"}}`, http.StatusBadRequest)
				return
			}
			since = p
		}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		f.mu.Lock()
		n := len(f.conns)
		f.conns = append(f.conns, rawSince)
		limit, code := -1, 0
		if n < len(f.cuts) {
			limit = f.cuts[n]
		}
		if n < len(f.close) {
			code = f.close[n]
		}
		gate := f.gate
		f.mu.Unlock()
		readerDone := make(chan struct{})
		go func() { // count keepalive pings
			defer close(readerDone)
			for {
				_, msg, err := c.ReadMessage()
				if err != nil {
					return
				}
				if string(msg) == "ping" {
					f.mu.Lock()
					f.pings++
					f.mu.Unlock()
				}
			}
		}()
		sent := 0
		for _, m := range f.frames {
			if !since.Less(m.Pos) {
				continue
			}
			if limit >= 0 && sent == limit {
				if code != 0 {
					_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, "lagging: reconnect with ?since=<last seq>"), time.Now().Add(time.Second))
					time.Sleep(10 * time.Millisecond)
				}
				_ = c.UnderlyingConn().Close()
				return
			}
			if gate != nil && sent > 0 {
				<-gate
			}
			if err := c.WriteMessage(websocket.TextMessage, m.Raw); err != nil {
				return
			}
			sent++
		}
		// Like the real server, the socket stays open after the end until
		// the client closes it.
		<-readerDone
	})
	return mux
}

func msg(seq int64, typ string, fields map[string]any) Message {
	body := map[string]any{"type": typ, "execution_id": "job1", "seq": seq, "timestamp": "1704067200.5"}
	for k, v := range fields {
		body[k] = v
	}
	raw, _ := json.Marshal(body)
	m, err := decodeMessage(raw)
	if err != nil {
		panic(err)
	}
	return m
}

// script is a job of three routines: start, a logging step, done.
func script(end string) []Message {
	running := func(seq int64, p float64, node string) Message {
		return msg(seq, "status", map[string]any{"status": "running", "data": map[string]any{"progress": p, "current_node": node}})
	}
	node := func(seq int64, id, status string) Message {
		return msg(seq, "node_update", map[string]any{"node_id": id, "node_state": map[string]any{"status": status, "output": map[string]any{"n": seq}}})
	}
	f := []Message{
		running(1, 0, ""),
		node(2, "start", "running"),
		node(4, "start", "completed"), running(4, 1.0/3, "start"), // seq 3 was an emit: no message
		node(5, "step", "running"),
		msg(6, "log", map[string]any{"log": map[string]any{"level": "info", "message": "hello", "node_id": "step", "timestamp": "1704067200.6"}}),
		node(8, "step", "completed"), running(8, 2.0/3, "step"),
		node(9, "done", "running"),
		node(10, "done", "completed"), running(10, 1, "done"),
	}
	switch end {
	case "completed":
		f = append(f,
			msg(11, "status", map[string]any{"status": "completed", "data": map[string]any{"progress": 1, "current_node": "done"}}),
			msg(11, "completion", map[string]any{"result": map[string]any{"status": "completed", "output": map[string]any{"n": 10}, "nodes_completed": 3, "nodes_failed": 0, "duration": 0.5}}))
	case "cancelled":
		f = append(f,
			msg(11, "status", map[string]any{"status": "failed", "data": map[string]any{"progress": 1, "current_node": "done", "state": "cancelled"}}),
			msg(11, "error", map[string]any{"error": "Job cancelled"}))
	}
	return withPos(f)
}

// withPos gives each message its position, as the server does: its seq
// and its part among the messages of that seq.
func withPos(list []Message) []Message {
	out := make([]Message, len(list))
	part := 0
	for i, m := range list {
		if i > 0 && list[i-1].Seq == m.Seq {
			part++
		} else {
			part = 1
		}
		var body map[string]any
		_ = json.Unmarshal(m.Raw, &body)
		body["pos"] = events.Pos{Seq: m.Seq, Part: part}.String()
		raw, _ := json.Marshal(body)
		d, err := decodeMessage(raw)
		if err != nil {
			panic(err)
		}
		out[i] = d
	}
	return out
}

type recorder struct {
	mu   sync.Mutex
	msgs []Message
}

func (r *recorder) handle(m Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
}

func (r *recorder) keys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return keysOf(r.msgs)
}

func keysOf(ms []Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%d:%s:%s:%s", m.Seq, m.Type, m.NodeID, m.Status)
	}
	return out
}

func fastWatcher() *Watcher {
	return &Watcher{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

func serve(t *testing.T, f *fakeServer) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(f.handler())
	t.Cleanup(ts.Close)
	return ts
}

func watchCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// A cut after any frame — between events or between two messages of one
// event — costs nothing: the handler sees every message once, in order.
func TestWatchCutAfterEveryFrame(t *testing.T) {
	for _, end := range []string{"completed", "cancelled"} {
		want := keysOf(script(end))
		for cut := 0; cut < len(want); cut++ {
			t.Run(fmt.Sprintf("%s/cut%d", end, cut), func(t *testing.T) {
				f := &fakeServer{t: t, frames: script(end), status: "running", cuts: []int{cut, cut / 2}}
				ts := serve(t, f)
				var rec recorder
				if err := fastWatcher().Watch(watchCtx(t), ts.URL, "job1", 0, rec.handle); err != nil {
					t.Fatal(err)
				}
				if got := rec.keys(); strings.Join(got, " ") != strings.Join(want, " ") {
					t.Fatalf("cut after %d frames:\n got %v\nwant %v\nconnections (since): %v", cut, got, want, f.conns)
				}
			})
		}
	}
}

// Reconnects ask for since = the position of the last message delivered
// (inside an event too), and the caller's since before anything was
// delivered.
func TestWatchResumeSince(t *testing.T) {
	f := &fakeServer{t: t, frames: script("completed"), status: "running", cuts: []int{3, 1, 2}}
	ts := serve(t, f)
	var rec recorder
	if err := fastWatcher().Watch(watchCtx(t), ts.URL, "job1", 0, rec.handle); err != nil {
		t.Fatal(err)
	}
	// conn 0: 1.1, 2.1, 4.1 (node_update) → cut: since 4.1.
	// conn 1: 4.2 (status) → cut: since 4.2.
	// conn 2: 5.1, 6.1 → cut: since 6.1.
	// conn 3: the rest.
	if want := []string{"", "4.1", "4.2", "6.1"}; fmt.Sprint(f.conns) != fmt.Sprint(want) {
		t.Fatalf("since of each connection = %v, want %v", f.conns, want)
	}
	if len(rec.keys()) != len(f.frames) {
		t.Fatalf("delivered %d messages, want %d", len(rec.keys()), len(f.frames))
	}
}

func TestWatchFromSince(t *testing.T) {
	f := &fakeServer{t: t, frames: script("completed"), status: "running"}
	ts := serve(t, f)
	var rec recorder
	if err := fastWatcher().Watch(watchCtx(t), ts.URL, "job1", 8, rec.handle); err != nil {
		t.Fatal(err)
	}
	got := rec.keys()
	if len(got) == 0 || !strings.HasPrefix(got[0], "9:node_update:done") || len(got) != 5 {
		t.Fatalf("from since 8 got %v", got)
	}
}

// A job that has ended, watched from past its last event, returns at once
// instead of waiting on an idle socket.
func TestWatchSincePastEnd(t *testing.T) {
	f := &fakeServer{t: t, frames: script("completed"), status: "completed"}
	ts := serve(t, f)
	var rec recorder
	start := time.Now()
	if err := fastWatcher().Watch(watchCtx(t), ts.URL, "job1", 11, rec.handle); err != nil {
		t.Fatal(err)
	}
	if len(rec.keys()) != 0 || len(f.conns) != 0 || time.Since(start) > 2*time.Second {
		t.Fatalf("got %v, %d connections", rec.keys(), len(f.conns))
	}
}

func TestWatchUnknownJob(t *testing.T) {
	f := &fakeServer{t: t, frames: script("completed"), status: "running"}
	ts := serve(t, f)
	err := fastWatcher().Watch(watchCtx(t), ts.URL, "nope", 0, func(Message) {})
	if !errors.Is(err, ErrRefused) || !IsNotFound(err) {
		t.Fatalf("err = %v, want a refused 404", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "JOB_NOT_FOUND" {
		t.Fatalf("err = %#v", err)
	}
}

// The server closing a lagging client (4008) is just another reconnect.
func TestWatchLaggingClose(t *testing.T) {
	f := &fakeServer{t: t, frames: script("completed"), status: "running", cuts: []int{5}, close: []int{4008}}
	ts := serve(t, f)
	var rec recorder
	var reasons []string
	w := fastWatcher()
	w.OnReconnect = func(err error, _ time.Duration) { reasons = append(reasons, err.Error()) }
	if err := w.Watch(watchCtx(t), ts.URL, "job1", 0, rec.handle); err != nil {
		t.Fatal(err)
	}
	if len(rec.keys()) != len(f.frames) {
		t.Fatalf("got %v", rec.keys())
	}
	if len(reasons) != 1 || !strings.Contains(reasons[0], "4008") {
		t.Fatalf("reconnect reasons %q", reasons)
	}
}

func TestWatchContextEnds(t *testing.T) {
	f := &fakeServer{t: t, frames: script("running"), status: "running"}
	ts := serve(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	var rec recorder
	done := make(chan error, 1)
	go func() { done <- fastWatcher().Watch(ctx, ts.URL, "job1", 0, rec.handle) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(rec.keys()) < len(f.frames) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return after cancel")
	}
	if len(rec.keys()) != len(f.frames) {
		t.Fatalf("got %d messages", len(rec.keys()))
	}
}

// A server that goes silent (no frames, no pings) is dropped after
// ReadTimeout and the stream resumes; keepalive pings are sent meanwhile.
func TestWatchSilentServer(t *testing.T) {
	f := &fakeServer{t: t, frames: script("completed"), status: "running"}
	f.gate = make(chan struct{})
	ts := serve(t, f)
	w := fastWatcher()
	w.ReadTimeout = 300 * time.Millisecond
	w.PingInterval = 50 * time.Millisecond
	var rec recorder
	done := make(chan error, 1)
	go func() { done <- w.Watch(watchCtx(t), ts.URL, "job1", 0, rec.handle) }()
	// The first connection stalls after one frame; the read timeout drops
	// it; later connections run freely once the gate is open.
	time.Sleep(500 * time.Millisecond)
	close(f.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(rec.keys()) != len(f.frames) {
		t.Fatalf("got %v", rec.keys())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pings == 0 || len(f.conns) < 2 {
		t.Fatalf("pings %d, connections %v", f.pings, f.conns)
	}
}

func TestStreamURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:20555":       "ws://127.0.0.1:20555/api/ws/executions/j%2F1",
		"https://example.test/prefix/": "wss://example.test/prefix/api/ws/executions/j%2F1",
	} {
		got, err := streamURL(in, "j/1")
		if err != nil || got != want {
			t.Errorf("streamURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := streamURL("127.0.0.1:20555", "j"); err == nil {
		t.Error("want an error for an address without scheme")
	}
}

func TestTimestamp(t *testing.T) {
	var m Message
	if err := json.Unmarshal([]byte(`{"type":"log","timestamp":1704067200.25}`), &m); err != nil {
		t.Fatal(err)
	}
	ts, ok := m.Timestamp.Time()
	if !ok || ts.Unix() != 1704067200 || ts.Nanosecond()/1e6 != 250 {
		t.Fatalf("got %v %v", ts, ok)
	}
}
