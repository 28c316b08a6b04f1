package ws_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/ws"
)

// cutsFlow's job has events of every multi-message kind: routine ends
// (seed 000: node_update + status), starts (seed 004: routine_started +
// execution_event), retried and final failures (seed 004: routine_failed +
// execution_event), logs, and the job's end (two messages in both).
const cutsFlow = `flow_id: cuts
execution: {strategy: concurrent, max_workers: 2}
routines:
  start: {kind: input}
  items: {kind: split, config: {expr: "data.list"}}
  note: {kind: log, config: {level: info, message: "item {{ data }}"}}
  twice: {kind: transform, config: {expr: "{value: data * 2}"}}
  done: {kind: output, config: {mode: append}}
  bad: {kind: fail, config: {message: "no \"luck\" <here>"}, error_policy: {strategy: retry, max_retries: 1, retry_delay: 1ms}}
connections:
  - {from: start.output, to: items.input}
  - {from: items.item, to: note.input}
  - {from: note.output, to: twice.input}
  - {from: twice.output, to: done.input}
`

type posMsg struct {
	pos events.Pos
	raw string
}

// terminal reports whether a message ends a job's stream (the last one
// with a position).
func terminal(typ string) bool {
	switch typ {
	case "completion", "error", "job_completed", "job_failed", "job_cancelled":
		return true
	}
	return false
}

// readStream reads until the job's last message, or for at most wait when
// wait > 0 (then it expects nothing), keeping the messages that carry a
// position: connection:status, metrics and heartbeat pings have none, as
// they are snapshots, not part of the resumable stream.
func readStream(t *testing.T, c *websocket.Conn, wait time.Duration) []posMsg {
	t.Helper()
	var out []posMsg
	for {
		if wait > 0 {
			c.SetReadDeadline(time.Now().Add(wait))
		} else {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
		}
		typ, data, err := c.ReadMessage()
		if err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); wait > 0 && ok && ne.Timeout() {
				return out
			}
			t.Fatalf("read after %d messages: %v", len(out), err)
		}
		if typ != websocket.TextMessage {
			t.Fatalf("frame of type %d", typ)
		}
		var m struct {
			Type string     `json:"type"`
			Seq  int64      `json:"seq"`
			Pos  events.Pos `json:"pos"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("not JSON: %s", data)
		}
		if m.Pos.IsZero() {
			if m.Type != "connection:status" && m.Type != "metrics" && m.Type != "ping" {
				t.Fatalf("message without pos: %s", data)
			}
			continue
		}
		if m.Pos.Seq != m.Seq || m.Pos.Part < 1 {
			t.Fatalf("pos %s does not name a message of event %d: %s", m.Pos, m.Seq, data)
		}
		out = append(out, posMsg{m.Pos, string(data)})
		if terminal(m.Type) && wait == 0 {
			return out
		}
	}
}

// waitEnded waits until the job has finished and its log is complete.
func (r *rig) waitEnded(job string) {
	r.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(r.URL + "/api/jobs/" + job)
		if err != nil {
			r.t.Fatal(err)
		}
		var js struct{ Status string }
		json.NewDecoder(resp.Body).Decode(&js)
		resp.Body.Close()
		if events.Finished(js.Status) {
			return
		}
	}
	r.t.Fatalf("job %s did not end", job)
}

func sameStream(t *testing.T, what string, got, want []posMsg) {
	t.Helper()
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("%s: message %d is %s\nwant %s", what, i, got[i].raw, want[i].raw)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d messages, want %d", what, len(got), len(want))
	}
}

// For every message of a recorded stream of a real job, on seed 000 and on
// both seed 004 endpoints that take since: cut the connection right after
// that message, resume with its pos, and the messages before the cut
// followed by those of the resumed connection are the uncut stream, byte
// for byte: no gap, no duplicate, wherever the cut falls (inside an event
// too). A plain seq as since keeps its meaning: after every message of
// that event; "seq.0" is before the event's first message.
func TestResumeFromEveryPositionGivesTheUncutStream(t *testing.T) {
	r := newRig(t, ws.Config{HeartbeatInterval: time.Hour})
	r.flow(cutsFlow)
	r.post("/api/flows", `{"dsl": "flow_id: bad\nroutines:\n  start: {kind: input}\n  bad: {kind: fail, config: {message: \"no\"}, error_policy: {strategy: retry, max_retries: 1, retry_delay: 1ms}}\nconnections:\n  - {from: start.output, to: bad.input}\n"}`)
	ok := r.start("cuts", `{"list": [1, 2, 3, "x\"y"]}`)
	failed := r.start("bad", `{}`)
	r.waitEnded(ok)
	r.waitEnded(failed)
	for _, job := range []string{ok, failed} {
		for _, ep := range []string{"/api/ws/executions/%s", "/api/ws/jobs/%s/monitor", "/api/ws/jobs/%s/debug"} {
			path := fmt.Sprintf(ep, job)
			t.Run(strings.ReplaceAll(strings.TrimPrefix(path, "/api/ws/"), "/", "_"), func(t *testing.T) {
				c := r.dial(path, nil)
				uncut := readStream(t, c, 0)
				c.Close()
				multi := 0
				for k, m := range uncut {
					if m.pos.Part > 1 {
						multi++
					}
					// Cut after message k: the resumed connection brings the rest.
					c := r.dial(path+"?since="+m.pos.String(), nil)
					var rest []posMsg
					if k < len(uncut)-1 {
						rest = readStream(t, c, 0)
					} else {
						rest = readStream(t, c, 300*time.Millisecond) // after the last message: nothing
					}
					c.Close()
					sameStream(t, "cut after "+m.pos.String(), append(uncut[:k+1:k+1], rest...), uncut)
				}
				// Past the end, nothing comes (not even the metrics snapshot sent with the job's end).
				c = r.dial(fmt.Sprintf("%s?since=%d", path, uncut[len(uncut)-1].pos.Seq), nil)
				for {
					m, err := read(t, c, 300*time.Millisecond)
					if err != nil {
						break
					}
					if m["type"] != "connection:status" {
						t.Fatalf("since the last event: got %v", m)
					}
				}
				c.Close()
				t.Logf("%d messages, %d of them second or later parts of an event", len(uncut), multi)
				if multi == 0 {
					t.Fatal("the stream has no event of several messages: the test proves little")
				}
				// A plain seq resumes after the whole event; seq.0 before it.
				for k, m := range uncut {
					if k+1 < len(uncut) && uncut[k+1].pos.Seq == m.pos.Seq {
						continue // not the event's last message
					}
					if k == len(uncut)-1 {
						break
					}
					for _, since := range []string{fmt.Sprint(m.pos.Seq), fmt.Sprintf("%d.0", uncut[k+1].pos.Seq)} {
						c := r.dial(path+"?since="+since, nil)
						rest := readStream(t, c, 0)
						c.Close()
						sameStream(t, "since="+since, append(uncut[:k+1:k+1], rest...), uncut)
					}
				}
			})
		}
	}
}

// A since that is not a seq or a position is refused before the upgrade.
func TestBadSinceIsRefused(t *testing.T) {
	r := newRig(t, ws.Config{})
	r.flow(cutsFlow)
	job := r.start("cuts", `{"list": [1]}`)
	for _, since := range []string{"-1", "1.", "x", "1.2.3", "1.-2"} {
		_, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(r.URL, "http")+"/api/ws/executions/"+job+"?since="+since, nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("since=%s: %v %v", since, err, resp)
		}
	}
}

// A cut while the job runs, between two messages of one event (the first
// of a routine's ending node_update + status, or of a routine_started +
// execution_event), then a resume with that pos while it still runs: the
// two connections together carry exactly the messages a replay of the
// finished job does.
func TestResumeLiveInsideAnEvent(t *testing.T) {
	r := newRig(t, ws.Config{HeartbeatInterval: time.Hour})
	r.flow(`flow_id: steps
routines:
  start: {kind: input}
  a: {kind: delay, config: {ms: 30}}
  b: {kind: delay, config: {ms: 30}}
  c: {kind: delay, config: {ms: 30}}
  done: {kind: output}
connections:
  - {from: start.output, to: a.input}
  - {from: a.output, to: b.input}
  - {from: b.output, to: c.input}
  - {from: c.output, to: done.input}
`)
	for _, ep := range []string{"/api/ws/executions/%s", "/api/ws/jobs/%s/monitor", "/api/ws/jobs/%s/debug"} {
		for _, nth := range []int{1, 2, 3} { // cut inside the nth event of several messages
			job := r.start("steps", `{}`)
			path := fmt.Sprintf(ep, job)
			// Read message by message until the nth first part of a multi-part event.
			c := r.dial(path, nil)
			var first []posMsg
			multi := 0
			for multi < nth {
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				_, data, err := c.ReadMessage()
				if err != nil {
					t.Fatal(err)
				}
				var m struct {
					Type string     `json:"type"`
					Pos  events.Pos `json:"pos"`
				}
				json.Unmarshal(data, &m)
				if m.Pos.IsZero() {
					continue
				}
				first = append(first, posMsg{m.Pos, string(data)})
				if m.Pos.Part == 1 && (m.Type == "routine_started" || (m.Type == "node_update" && strings.Contains(string(data), `"status":"completed"`))) {
					multi++
				}
			}
			c.Close()
			cut := first[len(first)-1].pos
			rest := readStream(t, r.dial(path+"?since="+cut.String(), nil), 0)
			r.waitEnded(job)
			whole := readStream(t, r.dial(path, nil), 0)
			sameStream(t, fmt.Sprintf("%s cut live after %s", path, cut), append(first, rest...), whole)
			if len(rest) == 0 || rest[0].pos != (events.Pos{Seq: cut.Seq, Part: 2}) {
				t.Fatalf("%s: the resume did not start with the event's second message: %v", path, rest[:1])
			}
		}
	}
}

// Messages of every frame length form (7-bit, 16-bit and 64-bit lengths,
// and those the writer sends without copying, ≥ 64 KiB) arrive whole.
func TestLargeMessagesArriveWhole(t *testing.T) {
	r := newRig(t, ws.Config{})
	r.flow(`flow_id: big
routines:
  start: {kind: input}
  grow: {kind: transform, config: {expr: "{pad: repeat('x', data.n)}"}}
connections:
  - {from: start.output, to: grow.input}
`)
	for _, n := range []int{10, 200, 70_000, 300_000} {
		job := r.start("big", fmt.Sprintf(`{"n": %d}`, n))
		r.waitEnded(job)
		c := r.dial("/api/ws/executions/"+job, nil)
		var got int
		for _, m := range readUntil(t, c, func(m msg) bool { return m["type"] == "completion" || m["type"] == "error" }) {
			if m["type"] == "error" {
				t.Fatalf("n=%d: %v", n, m)
			}
			if m["type"] == "node_update" && m["node_id"] == "grow" {
				if out, ok := m["node_state"].(map[string]any)["output"].(map[string]any); ok {
					got = len(out["pad"].(string))
				}
			}
		}
		if got != n {
			t.Fatalf("n=%d: the output arrived with %d bytes of padding", n, got)
		}
		c.Close()
	}
}

// A replay longer than a small per-client queue is paced, not cut as lagging.
func TestReplayLongerThanTheQueue(t *testing.T) {
	r := newRig(t, ws.Config{QueueSize: 64})
	r.flow(cutsFlow)
	list := make([]string, 200)
	for i := range list {
		list[i] = fmt.Sprint(i)
	}
	job := r.start("cuts", `{"list": [`+strings.Join(list, ",")+`]}`)
	r.waitEnded(job)
	for _, ep := range []string{"/api/ws/executions/%s", "/api/ws/jobs/%s/monitor"} {
		got := readStream(t, r.dial(fmt.Sprintf(ep, job), nil), 0)
		if len(got) < 600 {
			t.Fatalf("%s: %d messages", ep, len(got))
		}
	}
}
