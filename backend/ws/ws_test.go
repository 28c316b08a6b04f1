package ws_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/servertest"
	"github.com/switchyard/switchyard/backend/ws"
)

type rig struct {
	t *testing.T
	*servertest.Instance
}

func newRig(t *testing.T, cfg ws.Config) *rig {
	t.Helper()
	return &rig{t: t, Instance: servertest.Start(t, server.Config{Streams: cfg})}
}

func (r *rig) post(path, body string) map[string]any {
	r.t.Helper()
	resp, err := http.Post(r.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode >= 300 {
		r.t.Fatalf("POST %s: %d %v", path, resp.StatusCode, out)
	}
	return out
}

func (r *rig) flow(yaml string) {
	b, _ := json.Marshal(map[string]string{"dsl": yaml})
	r.post("/api/flows", string(b))
}

func (r *rig) start(flowID, params string) string {
	return r.post("/api/jobs", fmt.Sprintf(`{"flow_id":%q,"params":%s}`, flowID, params))["job_id"].(string)
}

// storedSeqs is the job's event log as the REST API returns it.
func (r *rig) storedSeqs(jobID string) []int64 {
	var out []int64
	for {
		resp, err := http.Get(fmt.Sprintf("%s/api/jobs/%s/events?limit=10000&since=%d", r.URL, jobID, int64(len(out))))
		if err != nil {
			r.t.Fatal(err)
		}
		var page struct {
			Events []struct {
				Seq int64 `json:"seq"`
			} `json:"events"`
			HasMore bool `json:"has_more"`
		}
		json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		for _, e := range page.Events {
			out = append(out, e.Seq)
		}
		if !page.HasMore {
			return out
		}
	}
}

func (r *rig) dial(path string, header http.Header) *websocket.Conn {
	r.t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(r.URL, "http")+path, header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		r.t.Fatalf("dial %s: %v (status %d)", path, err, status)
	}
	r.t.Cleanup(func() { c.Close() })
	return c
}

type msg map[string]any

func read(t *testing.T, c *websocket.Conn, timeout time.Duration) (msg, error) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(timeout))
	_, data, err := c.ReadMessage()
	if err != nil {
		return nil, err
	}
	var m msg
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("frame is not JSON: %q", data)
	}
	return m, nil
}

// readUntil reads messages until stop returns true.
func readUntil(t *testing.T, c *websocket.Conn, stop func(msg) bool) []msg {
	t.Helper()
	var out []msg
	for {
		m, err := read(t, c, 10*time.Second)
		if err != nil {
			t.Fatalf("read after %d messages: %v", len(out), err)
		}
		out = append(out, m)
		if stop(m) {
			return out
		}
	}
}

const delayFlow = `flow_id: slow
routines:
  start: {kind: input}
  double: {kind: transform, config: {expr: "{value: data.value * 2}"}}
  wait: {kind: delay, config: {ms: 150}}
  note: {kind: log, config: {level: warning, message: "value {{ data.value }}"}}
  done: {kind: output}
connections:
  - {from: start.output, to: double.input}
  - {from: double.output, to: wait.input}
  - {from: wait.output, to: note.input}
  - {from: note.output, to: done.input}
`

var epoch = regexp.MustCompile(`^\d{10}\.\d{3}$`)

func TestSeed000StreamFromStartToCompletion(t *testing.T) {
	r := newRig(t, ws.Config{})
	r.flow(delayFlow)
	job := r.start("slow", `{"value": 21}`)
	c := r.dial("/api/ws/executions/"+job, nil)
	msgs := readUntil(t, c, func(m msg) bool { return m["type"] == "completion" || m["type"] == "error" })

	if msgs[0]["type"] != "status" || msgs[0]["status"] != "running" {
		t.Fatalf("first message %v", msgs[0])
	}
	n := len(msgs)
	if msgs[n-2]["type"] != "status" || msgs[n-2]["status"] != "completed" || msgs[n-1]["type"] != "completion" {
		t.Fatalf("ending: %v / %v", msgs[n-2], msgs[n-1])
	}
	result := msgs[n-1]["result"].(map[string]any)
	if result["status"] != "completed" || result["nodes_completed"] != 5.0 || result["nodes_failed"] != 0.0 || result["duration"].(float64) <= 0 {
		t.Fatalf("completion result %v", result)
	}
	if out := result["output"].(map[string]any); out["value"] != 42.0 {
		t.Fatalf("output %v", out)
	}
	nodes := map[string][]string{}
	var logs []msg
	for _, m := range msgs {
		if m["execution_id"] != job || !epoch.MatchString(fmt.Sprint(m["timestamp"])) || m["seq"] == nil {
			t.Fatalf("message without execution_id/timestamp/seq: %v", m)
		}
		switch m["type"] {
		case "node_update":
			st := m["node_state"].(map[string]any)
			for _, k := range []string{"status", "output", "error", "started_at", "completed_at"} {
				if _, ok := st[k]; !ok {
					t.Fatalf("node_state lacks %s: %v", k, st)
				}
			}
			nodes[m["node_id"].(string)] = append(nodes[m["node_id"].(string)], st["status"].(string))
			if st["status"] == "completed" && m["node_id"] == "double" && st["output"].(map[string]any)["value"] != 42.0 {
				t.Fatalf("double's output %v", st["output"])
			}
			// An ending update counts what the activation emitted (the graph's edge counts); an output routine emits nothing.
			want := any(map[string]any{"output": 1.0})
			if m["node_id"] == "done" {
				want = nil
			}
			if st["status"] == "completed" && !reflect.DeepEqual(st["emitted"], want) {
				t.Fatalf("%s emitted %v, want %v", m["node_id"], st["emitted"], want)
			}
		case "log":
			logs = append(logs, m)
		case "status":
			data := m["data"].(map[string]any)
			if _, ok := data["progress"]; !ok {
				t.Fatalf("status without progress: %v", m)
			}
		}
	}
	for _, id := range []string{"start", "double", "wait", "note", "done"} {
		if strings.Join(nodes[id], ",") != "running,completed" {
			t.Fatalf("node %s updates %v", id, nodes[id])
		}
	}
	if len(logs) != 1 {
		t.Fatalf("logs %v", logs)
	}
	l := logs[0]["log"].(map[string]any)
	if l["level"] != "warning" || l["message"] != "value 42" || l["node_id"] != "note" || !epoch.MatchString(l["timestamp"].(string)) {
		t.Fatalf("log %v", l)
	}
	// ping → pong, and the socket stays open after the job ended.
	c.WriteMessage(websocket.TextMessage, []byte("ping"))
	m, err := read(t, c, 5*time.Second)
	if err != nil || len(m) != 1 || m["type"] != "pong" {
		t.Fatalf("pong: %v %v", m, err)
	}
	if _, err := read(t, c, 300*time.Millisecond); err == nil || websocket.IsCloseError(err) || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("socket should stay open and quiet after the end: %v", err)
	}
}

func TestSeed000FailedAndCancelledJobsEndWithStatusThenError(t *testing.T) {
	r := newRig(t, ws.Config{})
	r.flow(`flow_id: broken
routines:
  start: {kind: input}
  boom: {kind: fail, config: {message: "API key invalid"}}
connections:
  - {from: start.output, to: boom.input}
`)
	c := r.dial("/api/ws/executions/"+r.start("broken", `{}`), nil)
	msgs := readUntil(t, c, func(m msg) bool { return m["type"] == "error" })
	n := len(msgs)
	if msgs[n-2]["status"] != "failed" || !strings.Contains(msgs[n-1]["error"].(string), "API key invalid") {
		t.Fatalf("failed ending %v %v", msgs[n-2], msgs[n-1])
	}

	r.flow(strings.Replace(strings.Replace(delayFlow, "ms: 150", "ms: 60000", 1), "flow_id: slow", "flow_id: long", 1))
	job := r.start("long", `{"value": 1}`)
	c2 := r.dial("/api/ws/executions/"+job, nil)
	readUntil(t, c2, func(m msg) bool { return m["type"] == "node_update" && m["node_id"] == "wait" })
	r.post("/api/jobs/"+job+"/cancel", "")
	msgs = readUntil(t, c2, func(m msg) bool { return m["type"] == "error" })
	n = len(msgs)
	if msgs[n-2]["status"] != "failed" || msgs[n-2]["data"].(map[string]any)["state"] != "cancelled" || msgs[n-1]["error"] != "Job cancelled" {
		t.Fatalf("cancel ending %v %v", msgs[n-2], msgs[n-1])
	}
}

func TestSeed004MonitorMessagesAndSubscriptions(t *testing.T) {
	r := newRig(t, ws.Config{})
	r.flow(delayFlow)
	job := r.start("slow", `{"value": 1}`)
	c := r.dial("/api/ws/jobs/"+job+"/monitor", nil)
	first, err := read(t, c, 5*time.Second)
	if err != nil || first["type"] != "connection:status" || first["status"] != "connected" || first["server_time"] == nil || first["timestamp"] == nil {
		t.Fatalf("first %v %v", first, err)
	}
	msgs := readUntil(t, c, func(m msg) bool { return m["type"] == "metrics" && m["metrics"].(map[string]any)["end_time"] != nil })
	types := map[string]int{}
	execTypes := map[string]int{}
	for _, m := range msgs {
		types[m["type"].(string)]++
		if m["type"] == "execution_event" {
			ev := m["event"].(map[string]any)
			execTypes[ev["event_type"].(string)]++
			if ev["event_id"] == nil || ev["routine_id"] == nil || ev["timestamp"] == nil || ev["data"] == nil {
				t.Fatalf("execution_event %v", m)
			}
		}
		if m["type"] == "job_started" {
			d := m["data"].(map[string]any)
			if m["flow_id"] != "slow" || d["entry_routine"] != "start" || d["params"].(map[string]any)["value"] != 1.0 {
				t.Fatalf("job_started %v", m)
			}
		}
		if m["type"] == "routine_completed" {
			d := m["data"].(map[string]any)
			if _, ok := d["duration"]; !ok || d["events_emitted"] == nil {
				t.Fatalf("routine_completed %v", m)
			}
		}
	}
	if types["job_started"] != 1 || types["routine_started"] != 5 || types["routine_completed"] != 5 || types["job_completed"] != 1 {
		t.Fatalf("types %v", types)
	}
	if types["log"] != 0 {
		t.Fatalf("the monitor endpoint carried log messages (only debug does): %v", types)
	}
	if execTypes["slot_call"] != 5 || execTypes["event_emit"] != 4 {
		t.Fatalf("execution events %v", execTypes)
	}
	final := msgs[len(msgs)-1]["metrics"].(map[string]any)
	if final["total_slot_calls"] != 5.0 || final["total_event_emits"] != 4.0 || final["total_events"].(float64) < 15 {
		t.Fatalf("metrics %v", final)
	}

	// Subscriptions filter what a client gets from here on.
	c.WriteJSON(map[string]any{"action": "subscribe", "events": []string{"job_completed"}})
	conf, _ := read(t, c, 5*time.Second)
	if conf["type"] != "subscription:confirmed" || conf["action"] != "subscribe" || fmt.Sprint(conf["events"]) != "[job_completed]" {
		t.Fatalf("confirm %v", conf)
	}
	c.WriteMessage(websocket.TextMessage, []byte("{not json"))
	errMsg, _ := read(t, c, 5*time.Second)
	if errMsg["type"] != "error" || !strings.Contains(errMsg["error"].(string), "JSON") {
		t.Fatalf("malformed message reply %v", errMsg)
	}
	c.WriteMessage(websocket.TextMessage, []byte(`{"action":"subscribe","events":["`+strings.Repeat("x", 20000)+`"]}`))
	errMsg, _ = read(t, c, 5*time.Second)
	if errMsg["type"] != "error" || !strings.Contains(errMsg["error"].(string), "limit") {
		t.Fatalf("oversized message reply %v", errMsg)
	}
	c.WriteJSON(map[string]any{"type": "pong"})
	c.WriteJSON(map[string]any{"action": "unsubscribe", "events": []string{"job_completed"}})
	conf, _ = read(t, c, 5*time.Second)
	if fmt.Sprint(conf["events"]) != "[*]" {
		t.Fatalf("unsubscribing the last type must restore everything, as the seed's client assumes: %v", conf)
	}
	c.WriteJSON(map[string]any{"action": "subscribe_all"})
	conf, _ = read(t, c, 5*time.Second)
	if conf["type"] != "subscription:confirmed" || fmt.Sprint(conf["events"]) != "[*]" {
		t.Fatalf("subscribe_all %v", conf)
	}
}

func TestSubscriptionFiltersLiveEvents(t *testing.T) {
	r := newRig(t, ws.Config{})
	r.flow(strings.Replace(delayFlow, "ms: 150", "ms: 400", 1))
	job := r.start("slow", `{"value": 1}`)
	c := r.dial("/api/ws/jobs/"+job+"/monitor", nil)
	read(t, c, 5*time.Second) // connection:status
	c.WriteJSON(map[string]any{"action": "subscribe", "events": []string{"job_completed", "job_failed"}})
	var got []string
	for {
		m, err := read(t, c, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m["type"].(string))
		if m["type"] == "job_completed" {
			break
		}
	}
	// Replay may have sent events before the filter arrived; after the
	// confirmation only the subscribed type may appear.
	seen := false
	for i, typ := range got {
		if typ == "subscription:confirmed" {
			seen = true
			for _, later := range got[i+1:] {
				if later != "job_completed" {
					t.Fatalf("filtered stream carried %s: %v", later, got)
				}
			}
		}
	}
	if !seen {
		t.Fatalf("no confirmation in %v", got)
	}
}

// eventSeqs collects the distinct seqs a seed 004 stream carried, failing
// on an event message that repeats one.
func eventSeqs(t *testing.T, msgs []msg, seen map[int64]string) {
	t.Helper()
	for _, m := range msgs {
		typ := m["type"].(string)
		if typ == "metrics" || typ == "connection:status" || typ == "ping" || m["seq"] == nil {
			continue
		}
		seq := int64(m["seq"].(float64))
		key := typ
		if typ == "execution_event" {
			key += ":" + m["event"].(map[string]any)["event_type"].(string)
		}
		if prev, dup := seen[seq]; dup && (prev == key || !sameEvent(prev, key)) {
			t.Fatalf("seq %d delivered twice (%s, %s)", seq, prev, key)
		}
		seen[seq] = key
	}
}

// sameEvent: seed 004 sends routine_started and its slot_call (and a
// failure and its error event) with one seq.
func sameEvent(a, b string) bool {
	pair := map[string]string{"routine_started": "execution_event:slot_call", "routine_failed": "execution_event:error"}
	return pair[a] == b || pair[b] == a
}

func TestReconnectWithSinceGivesExactlyTheFullSequence(t *testing.T) {
	r := newRig(t, ws.Config{})
	r.flow(`flow_id: many
execution: {strategy: concurrent, max_workers: 2}
routines:
  start: {kind: input}
  items: {kind: split, config: {expr: "data.list"}}
  wait: {kind: delay, config: {ms: 5}}
  all: {kind: output, config: {mode: append}}
connections:
  - {from: start.output, to: items.input}
  - {from: items.item, to: wait.input}
  - {from: wait.output, to: all.input}
`)
	list := make([]string, 300)
	for i := range list {
		list[i] = fmt.Sprint(i)
	}
	job := r.start("many", `{"list": [`+strings.Join(list, ",")+`]}`)
	seen := map[int64]string{}
	c := r.dial("/api/ws/jobs/"+job+"/monitor", nil)
	part := readUntil(t, c, func(m msg) bool { return m["type"] == "routine_completed" && m["routine_id"] == "wait" })
	part = append(part, readUntil(t, c, func(m msg) bool { return m["type"] == "routine_completed" })...)
	eventSeqs(t, part, seen)
	var last int64
	for s := range seen {
		last = max(last, s)
	}
	c.Close() // the client drops mid-job …
	c2 := r.dial(fmt.Sprintf("/api/ws/jobs/%s/monitor?since=%d", job, last), nil)
	rest := readUntil(t, c2, func(m msg) bool { return m["type"] == "job_completed" })
	eventSeqs(t, rest, seen)
	stored := r.storedSeqs(job)
	if len(seen) != len(stored) {
		t.Fatalf("stream carried %d distinct events, log has %d", len(seen), len(stored))
	}
	for _, s := range stored {
		if _, ok := seen[s]; !ok {
			t.Fatalf("event %d missing from the stream", s)
		}
	}
}

func TestLateConnectReplaysWholeHistory(t *testing.T) {
	r := newRig(t, ws.Config{})
	r.flow(delayFlow)
	job := r.start("slow", `{"value": 2}`)
	time.Sleep(50 * time.Millisecond)
	for deadline := time.Now().Add(5 * time.Second); ; {
		resp, _ := http.Get(r.URL + "/api/jobs/" + job)
		var js map[string]any
		json.NewDecoder(resp.Body).Decode(&js)
		resp.Body.Close()
		if js["status"] == "completed" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	c := r.dial("/api/ws/jobs/"+job+"/debug", nil)
	msgs := readUntil(t, c, func(m msg) bool { return m["type"] == "metrics" })
	seen := map[int64]string{}
	eventSeqs(t, msgs, seen)
	if len(seen) != len(r.storedSeqs(job)) {
		t.Fatalf("replayed %d of %d events", len(seen), len(r.storedSeqs(job)))
	}
	logs := 0
	for _, m := range msgs {
		if m["type"] == "log" {
			logs++
		}
	}
	if logs != 1 {
		t.Fatalf("debug stream carried %d log messages", logs)
	}
}

func TestFlowMonitorSeesJobsStartedLater(t *testing.T) {
	r := newRig(t, ws.Config{})
	r.flow(delayFlow)
	c := r.dial("/api/ws/flows/slow/monitor", nil)
	read(t, c, 5*time.Second) // connection:status
	a := r.start("slow", `{"value": 1}`)
	b := r.start("slow", `{"value": 2}`)
	done := map[string]bool{}
	readUntil(t, c, func(m msg) bool {
		if m["type"] == "job_completed" {
			done[m["job_id"].(string)] = true
		}
		return len(done) == 2
	})
	if !done[a] || !done[b] {
		t.Fatalf("completed %v", done)
	}
}

func TestAllJobsMonitorCarriesLifecycleOnly(t *testing.T) {
	r := newRig(t, ws.Config{})
	r.flow(delayFlow)
	c := r.dial("/api/ws/monitor", nil)
	read(t, c, 5*time.Second)
	job := r.start("slow", `{"value": 1}`)
	msgs := readUntil(t, c, func(m msg) bool { return m["type"] == "job_completed" })
	for _, m := range msgs {
		if !strings.HasPrefix(m["type"].(string), "job_") || m["job_id"] != job {
			t.Fatalf("unexpected %v", m)
		}
	}
}

func TestRefusals(t *testing.T) {
	r := newRig(t, ws.Config{AllowedOrigins: []string{"http://allowed.example"}})
	r.flow(delayFlow)
	job := r.start("slow", `{"value": 1}`)
	base := "ws" + strings.TrimPrefix(r.URL, "http")
	cases := []struct {
		path, origin string
		status       int
	}{
		{"/api/ws/executions/job_nope", "", 404},
		{"/api/ws/jobs/job_nope/monitor", "", 404},
		{"/api/ws/jobs/job_nope/debug", "", 404},
		{"/api/ws/flows/nope/monitor", "", 404},
		{"/api/ws/executions/" + job + "?since=-3", "", 400},
		{"/api/ws/executions/" + job, "http://evil.example", 403},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		_, resp, err := websocket.DefaultDialer.Dial(base+tc.path, h)
		if err == nil || resp == nil || resp.StatusCode != tc.status {
			got := 0
			if resp != nil {
				got = resp.StatusCode
			}
			t.Errorf("%s origin %q: status %d, want %d (%v)", tc.path, tc.origin, got, tc.status, err)
		}
	}
	for _, origin := range []string{"http://allowed.example", r.URL} {
		h := http.Header{"Origin": {origin}}
		c, _, err := websocket.DefaultDialer.Dial(base+"/api/ws/executions/"+job, h)
		if err != nil {
			t.Errorf("origin %s refused: %v", origin, err)
			continue
		}
		c.Close()
	}
	resp, err := http.Get(r.URL + "/api/ws/executions/" + job)
	if err != nil || resp.StatusCode != 400 {
		t.Errorf("plain GET: %v %v", resp.StatusCode, err)
	}
}

func TestSlowReaderIsClosedAsLaggingOthersUnaffected(t *testing.T) {
	// Events come steadily (one per millisecond or so): a client that reads
	// keeps up easily, one that reads nothing fills its socket and queue.
	// WriteTimeout is long: the stalled client reads only after the other
	// one is done, and must still find the close frame then.
	r := newRig(t, ws.Config{QueueSize: 1000, WriteTimeout: time.Minute})
	r.flow(`flow_id: flood
routines:
  start: {kind: input}
  pad: {kind: script, config: {code: "return {n: 0, pad: 'x'.repeat(2000)};"}}
  step: {kind: transform, config: {expr: "{n: data.n + 1, pad: data.pad}"}}
  tick: {kind: delay, config: {ms: 1}}
  more: {kind: filter, config: {expr: "data.n < 1500"}}
connections:
  - {from: start.output, to: pad.input}
  - {from: pad.output, to: step.input}
  - {from: step.output, to: tick.input}
  - {from: tick.output, to: more.input}
  - {from: more.true, to: step.input}
`)
	job := r.start("flood", `{}`)
	path := "/api/ws/jobs/" + job + "/monitor"
	slow := r.dial(path, nil)
	// The reading client keeps up. On a machine too busy for even that
	// (other test packages run at the same time) it is closed as lagging
	// too, and resumes with the since its close reason names, as clients
	// are meant to: it must still end with every event exactly once.
	fast := r.dial(path, nil)
	seen := map[int64]string{}
	reconnects := 0
	for done := false; !done; {
		m, err := read(t, fast, 20*time.Second)
		var ce *websocket.CloseError
		switch {
		case err == nil:
			eventSeqs(t, []msg{m}, seen)
			if m["type"] == "job_failed" {
				t.Fatalf("flood job failed: %v", m)
			}
			done = m["type"] == "job_completed"
		case asCloseError(err, &ce) && ce.Code == ws.CloseLagging && reconnects < 20:
			since, err := events.ParsePos(strings.TrimPrefix(ce.Text, "lagging: reconnect with ?since="))
			if err != nil {
				t.Fatalf("lagging close without a since: %q", ce.Text)
			}
			reconnects++
			fast = r.dial(fmt.Sprintf("%s?since=%s", path, since), nil)
		default:
			t.Fatalf("reading client: %v (after %d reconnects)", err, reconnects)
		}
	}
	if stored := r.storedSeqs(job); len(seen) != len(stored) {
		t.Fatalf("reading client got %d of %d events", len(seen), len(stored))
	}
	t.Logf("reading client reconnected %d times", reconnects)
	// The slow client now reads: it finds a close frame 4008, never a hole.
	var closeErr error
	var last events.Pos
	for {
		_, data, err := slow.ReadMessage()
		if err != nil {
			closeErr = err
			break
		}
		var m struct {
			Pos events.Pos `json:"pos"`
		}
		json.Unmarshal(data, &m)
		if !m.Pos.IsZero() {
			if !last.Less(m.Pos) {
				t.Fatalf("slow client saw pos go back %s → %s", last, m.Pos)
			}
			last = m.Pos
		}
	}
	var ce *websocket.CloseError
	if !asCloseError(closeErr, &ce) || ce.Code != ws.CloseLagging || !regexp.MustCompile(`^lagging: reconnect with \?since=\d+(\.\d+)?$`).MatchString(ce.Text) {
		t.Fatalf("slow client ended with %v", closeErr)
	}
	// The reason names the position of the last message the client got.
	if resume := strings.TrimPrefix(ce.Text, "lagging: reconnect with ?since="); resume != last.String() {
		t.Fatalf("close reason says since=%s, the client's last message is %s", resume, last)
	}
}

func asCloseError(err error, target **websocket.CloseError) bool {
	ce, ok := err.(*websocket.CloseError)
	if ok {
		*target = ce
	}
	return ok
}

func TestHeartbeatPingsSeed004ClientsOnly(t *testing.T) {
	r := newRig(t, ws.Config{HeartbeatInterval: 50 * time.Millisecond})
	r.flow(delayFlow)
	job := r.start("slow", `{"value": 1}`)
	monitor := r.dial("/api/ws/jobs/"+job+"/monitor", nil)
	got := readUntil(t, monitor, func(m msg) bool { return m["type"] == "ping" })
	ping := got[len(got)-1]
	if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(ping["timestamp"])); err != nil || len(ping) != 2 {
		t.Fatalf("ping %v", ping)
	}
	monitor.WriteJSON(map[string]any{"type": "pong"}) // accepted silently

	exec := r.dial("/api/ws/executions/"+job, nil)
	for _, m := range readUntil(t, exec, func(m msg) bool { return m["type"] == "completion" }) {
		if m["type"] == "ping" {
			t.Fatalf("seed 000 client got a JSON ping: %v", m)
		}
	}
}

func TestSilentPeerIsClosedAfterPongTimeout(t *testing.T) {
	r := newRig(t, ws.Config{PingInterval: 100 * time.Millisecond, PongTimeout: 400 * time.Millisecond})
	r.flow(delayFlow)
	job := r.start("slow", `{"value": 1}`)
	path := "/api/ws/executions/" + job
	silent := r.dial(path, nil) // never reads, so never answers a ping
	alive := r.dial(path, nil)  // reads, and gorilla answers pings while reading
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		alive.SetReadDeadline(deadline)
		if _, _, err := alive.ReadMessage(); err != nil && !strings.Contains(err.Error(), "timeout") {
			t.Fatalf("a peer that answers pings was closed: %v", err)
		}
	}
	// The silent peer's socket holds what was sent before the server gave
	// up on it; after that it ends, not with a read timeout.
	for {
		silent.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, _, err := silent.ReadMessage(); err != nil {
			if strings.Contains(err.Error(), "timeout") {
				t.Fatalf("silent peer still open after the pong timeout: %v", err)
			}
			break
		}
	}
}
