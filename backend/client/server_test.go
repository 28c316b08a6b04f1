package client_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchyard/switchyard/backend/client"
	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/servertest"
)

// proxy forwards TCP connections to a server; kill cuts every open one, as
// a network failure would (no close frame).
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	kills atomic.Int32
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.kill() })
	return p
}

func (p *proxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns[in], p.conns[out] = struct{}{}, struct{}{}
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			dst.Close()
			src.Close()
			p.mu.Lock()
			delete(p.conns, dst)
			delete(p.conns, src)
			p.mu.Unlock()
		}
		go pipe(in, out)
		go pipe(out, in)
	}
}

// kill closes every open connection and reports how many pairs it cut.
func (p *proxy) kill() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.conns) / 2
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
	if n > 0 {
		p.kills.Add(1)
	}
	return n
}

func startServer(t *testing.T) *httptest.Server {
	t.Helper()
	return servertest.Start(t, server.Config{}).HTTP
}

// stepsFlow is input → (log → delay) × steps → output.
func stepsFlow(id string, steps, delayMS int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "flow_id: %s\nroutines:\n  start: {kind: input}\n  done: {kind: output}\n", id)
	for i := 1; i <= steps; i++ {
		fmt.Fprintf(&b, "  note%d: {kind: log, config: {level: info, message: \"step %d of {{ data.name }}\"}}\n", i, i)
		fmt.Fprintf(&b, "  wait%d: {kind: delay, config: {ms: %d}}\n", i, delayMS)
	}
	b.WriteString("connections:\n  - {from: start.output, to: note1.input}\n")
	for i := 1; i <= steps; i++ {
		fmt.Fprintf(&b, "  - {from: note%d.output, to: wait%d.input}\n", i, i)
		next := fmt.Sprintf("note%d", i+1)
		if i == steps {
			next = "done"
		}
		fmt.Fprintf(&b, "  - {from: wait%d.output, to: %s.input}\n", i, next)
	}
	return b.String()
}

func createFlow(t *testing.T, base, yaml string) {
	t.Helper()
	body := fmt.Sprintf(`{"dsl":%q}`, yaml)
	resp, err := http.Post(base+"/api/flows", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(resp.Body)
		t.Fatalf("create flow: %d %s", resp.StatusCode, raw)
	}
}

// expected lists the stream messages (seq:type) the job's event log must
// yield, per docs/streams.md.
func expected(evs []client.Event) []string {
	var out []string
	add := func(seq int64, types ...string) {
		for _, typ := range types {
			out = append(out, fmt.Sprintf("%d:%s", seq, typ))
		}
	}
	for _, ev := range evs {
		switch ev.Type {
		case "job_started", "job_paused", "job_resumed":
			add(ev.Seq, "status")
		case "routine_started":
			add(ev.Seq, "node_update")
		case "routine_completed":
			add(ev.Seq, "node_update", "status")
		case "routine_failed":
			if ev.Status != "retrying" {
				add(ev.Seq, "node_update")
			}
		case "log":
			add(ev.Seq, "log")
		case "job_completed":
			add(ev.Seq, "status", "completion")
		case "job_failed", "job_cancelled":
			add(ev.Seq, "status", "error")
		}
	}
	return out
}

type seen struct {
	mu   sync.Mutex
	msgs []client.Message
}

func (s *seen) add(m client.Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
}

func (s *seen) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.msgs))
	for i, m := range s.msgs {
		out[i] = fmt.Sprintf("%d:%s", m.Seq, m.Type)
	}
	return out
}

func (s *seen) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// compare checks that the handler saw exactly the messages the log yields:
// every event represented, in order, none twice.
func compare(t *testing.T, c *client.Client, jobID string, got []string) {
	t.Helper()
	evs, err := c.Events(context.Background(), jobID, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range evs {
		if ev.Seq != int64(i+1) {
			t.Fatalf("event log has a gap: event %d has seq %d", i, ev.Seq)
		}
	}
	want := expected(evs)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("stream differs from the event log (%d events)\n got %v\nwant %v", len(evs), got, want)
	}
	dup := map[string]bool{}
	for _, k := range got {
		if dup[k] {
			t.Fatalf("message %s delivered twice", k)
		}
		dup[k] = true
	}
}

// A job of a flow with delays, watched through a proxy that cuts the TCP
// connection every few messages: the handler sees the full sequence.
func TestWatchRealServerSurvivesCuts(t *testing.T) {
	ts := startServer(t)
	createFlow(t, ts.URL, stepsFlow("steps", 8, 30))
	for _, every := range []int{2, 3, 5} {
		t.Run(fmt.Sprintf("every%d", every), func(t *testing.T) { watchWithCuts(t, ts, every) })
	}
}

func watchWithCuts(t *testing.T, ts *httptest.Server, every int) {
	px := newProxy(t, ts.Listener.Addr().String())
	c := client.New(px.URL())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	job, err := c.StartJob(ctx, "steps", map[string]any{"name": "cuts"})
	if err != nil {
		t.Fatal(err)
	}
	var got seen
	var reconnects atomic.Int32
	w := &client.Watcher{MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		OnReconnect: func(error, time.Duration) { reconnects.Add(1) }}
	done := make(chan error, 1)
	go func() { done <- w.Watch(ctx, px.URL(), job.JobID, 0, got.add) }()

	// Cut whenever a few new messages have arrived, until the watch ends.
	cuts, last := 0, 0
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		case <-time.After(2 * time.Millisecond):
			if n := got.count(); n >= last+every {
				if px.kill() > 0 {
					cuts++
				}
				last = n
			}
		}
	}
	if cuts < 5 || reconnects.Load() < 5 {
		t.Fatalf("only %d cuts, %d reconnects: the test did not exercise resuming", cuts, reconnects.Load())
	}
	j, err := c.GetJob(ctx, job.JobID)
	if err != nil || j.Status != "completed" {
		t.Fatalf("job %+v, %v", j, err)
	}
	compare(t, c, job.JobID, got.list())
	t.Logf("%d messages over %d cuts", got.count(), cuts)
}

// cutConn hands out what it reads one byte at a time, so the WebSocket
// reader never holds a frame beyond the one it is reading; after cut,
// everything not yet handed out is lost, as on a dropped connection.
type cutConn struct {
	net.Conn
	buf  []byte
	data [32 << 10]byte
	cut  atomic.Bool
}

func (c *cutConn) Read(p []byte) (int, error) {
	if c.cut.Load() {
		return 0, net.ErrClosed
	}
	if len(c.buf) == 0 {
		n, err := c.Conn.Read(c.data[:])
		if n == 0 {
			return 0, err
		}
		c.buf = c.data[:n]
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = c.buf[0]
	c.buf = c.buf[1:]
	return 1, nil
}

// Cuts at exact positions: the handler cuts the connection after every
// n-th message, losing whatever the server had sent after it — including
// the second message of an event (node_update, then status).
func TestWatchRealServerCutsInsideEvents(t *testing.T) {
	ts := startServer(t)
	createFlow(t, ts.URL, stepsFlow("steps", 6, 20))
	c := client.New(ts.URL)
	for _, every := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("every%d", every), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			job, err := c.StartJob(ctx, "steps", map[string]any{"name": "exact"})
			if err != nil {
				t.Fatal(err)
			}
			var cur atomic.Pointer[cutConn]
			dialer := *websocket.DefaultDialer
			dialer.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				cc := &cutConn{Conn: conn}
				cur.Store(cc)
				return cc, nil
			}
			var got seen
			var reconnects atomic.Int32
			w := &client.Watcher{Dialer: &dialer, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
				OnReconnect: func(error, time.Duration) { reconnects.Add(1) }}
			err = w.Watch(ctx, ts.URL, job.JobID, 0, func(m client.Message) {
				got.add(m)
				if got.count()%every == 0 && !m.Terminal() {
					cc := cur.Load()
					cc.cut.Store(true)
					cc.Conn.Close()
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			compare(t, c, job.JobID, got.list())
			if n := got.count(); int(reconnects.Load()) < n/every-1 {
				t.Fatalf("%d reconnects for %d messages", reconnects.Load(), n)
			}
		})
	}
}

// A cancelled job ends the watch with status failed (state cancelled) and
// error "Job cancelled"; watching it again from since=0 replays the same.
func TestWatchRealServerCancelled(t *testing.T) {
	ts := startServer(t)
	createFlow(t, ts.URL, stepsFlow("slow", 3, 2000))
	c := client.New(ts.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	job, err := c.StartJob(ctx, "slow", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got seen
	done := make(chan error, 1)
	go func() { done <- client.Watch(ctx, ts.URL, job.JobID, 0, got.add) }()
	for got.count() < 4 { // started, start running/completed, note1 running…
		time.Sleep(5 * time.Millisecond)
	}
	resp, err := http.Post(ts.URL+"/api/jobs/"+job.JobID+"/cancel", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got.mu.Lock()
	n := len(got.msgs)
	status, last := got.msgs[n-2], got.msgs[n-1]
	got.mu.Unlock()
	if status.Type != "status" || status.Status != "failed" || status.Data == nil || status.Data.State != "cancelled" ||
		last.Type != "error" || last.Error != "Job cancelled" {
		t.Fatalf("ended with %s / %s", status.Raw, last.Raw)
	}
	compare(t, c, job.JobID, got.list())

	// The finished job's history, whole, then from the middle.
	var again seen
	if err := client.Watch(ctx, ts.URL, job.JobID, 0, again.add); err != nil {
		t.Fatal(err)
	}
	if strings.Join(again.list(), " ") != strings.Join(got.list(), " ") {
		t.Fatalf("replay differs:\n%v\n%v", again.list(), got.list())
	}
	var tail seen
	if err := client.Watch(ctx, ts.URL, job.JobID, 3, tail.add); err != nil {
		t.Fatal(err)
	}
	if l := tail.list(); len(l) == 0 || strings.HasPrefix(l[0], "3:") || strings.HasPrefix(l[0], "1:") {
		t.Fatalf("from since 3: %v", l)
	}
	// Past the end: returns at once.
	var none seen
	if err := client.Watch(ctx, ts.URL, job.JobID, 1<<40, none.add); err != nil || none.count() != 0 {
		t.Fatalf("past the end: %v, %v", err, none.list())
	}
}

func TestWatchRealServerUnknownJob(t *testing.T) {
	ts := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := client.Watch(ctx, ts.URL, "no-such-job", 0, func(client.Message) {})
	if !client.IsNotFound(err) {
		t.Fatalf("err = %v, want 404", err)
	}
}
