package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/servertest"
)

// exerciseHistory answers every post-mortem route of the contract test,
// for jobs that completed, failed (after a retry) and were cancelled.
func exerciseHistory(c *contract, done, failed, cancelled string) {
	c.t.Helper()
	for _, id := range []string{done, failed, cancelled} {
		st := c.object(c.get(http.StatusOK, "/api/jobs/"+id+"/state"))
		at := fmt.Sprint(st["at"])
		c.get(http.StatusOK, "/api/jobs/"+id+"/state?at=1")
		c.get(http.StatusOK, "/api/jobs/"+id+"/state?at="+at)
		c.get(http.StatusBadRequest, "/api/jobs/"+id+"/state?at=0")
		c.get(http.StatusOK, "/api/jobs/"+id+"/activations")
		c.get(http.StatusOK, "/api/jobs/"+id+"/activations/1")
	}
	c.get(http.StatusOK, "/api/jobs/"+done+"/state?at=3")
	c.get(http.StatusBadRequest, "/api/jobs/"+done+"/state?at=999999")
	c.get(http.StatusBadRequest, "/api/jobs/"+done+"/state?at=two")
	c.get(http.StatusNotFound, "/api/jobs/j_ghost/state")
	c.get(http.StatusOK, "/api/jobs/"+failed+"/activations?routine_id=check&limit=5&offset=0")
	c.get(http.StatusOK, "/api/jobs/"+done+"/activations?offset=100")
	c.get(http.StatusBadRequest, "/api/jobs/"+done+"/activations?limit=1001")
	c.get(http.StatusBadRequest, "/api/jobs/"+done+"/activations?offset=-1")
	c.get(http.StatusNotFound, "/api/jobs/j_ghost/activations")
	c.get(http.StatusBadRequest, "/api/jobs/"+done+"/activations/first")
	c.get(http.StatusNotFound, "/api/jobs/"+done+"/activations/999")
	c.get(http.StatusNotFound, "/api/jobs/j_ghost/activations/1")
}

// client is a plain JSON client of a real server.
type client struct {
	t   *testing.T
	url string
}

func newClient(t *testing.T) *client {
	return &client{t: t, url: servertest.Start(t, server.Config{}).URL}
}

// call sends a request and decodes the JSON answer into out; it returns
// the status.
func (c *client) call(method, path, body string, out any) int {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", jsonCT)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, clip(raw), err)
		}
	}
	return resp.StatusCode
}

// get answers a GET that must succeed.
func (c *client) get(path string) map[string]any {
	c.t.Helper()
	var m map[string]any
	if code := c.call(http.MethodGet, path, "", &m); code != http.StatusOK {
		c.t.Fatalf("GET %s: %d %v", path, code, m)
	}
	return m
}

// fails checks an error answer's status and code, and returns its message.
func (c *client) fails(path string, status int, code string) string {
	c.t.Helper()
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if got := c.call(http.MethodGet, path, "", &e); got != status || e.Error.Code != code {
		c.t.Errorf("GET %s: %d %s (%s), want %d %s", path, got, e.Error.Code, e.Error.Message, status, code)
	}
	return e.Error.Message
}

func (c *client) flow(yaml string) {
	c.t.Helper()
	if code := c.call(http.MethodPost, "/api/flows", dsl(yaml), nil); code != http.StatusCreated {
		c.t.Fatalf("create flow: %d", code)
	}
}

func (c *client) start(body string) string {
	c.t.Helper()
	var j map[string]any
	if code := c.call(http.MethodPost, "/api/jobs", body, &j); code != http.StatusCreated {
		c.t.Fatalf("start job: %d %v", code, j)
	}
	return j["job_id"].(string)
}

func (c *client) wait(id string, ok func(map[string]any) bool) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		j := c.get("/api/jobs/" + id)
		if ok(j) {
			return j
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("job %s stuck at %v", id, j)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func statusIs(s string) func(map[string]any) bool {
	return func(j map[string]any) bool { return j["status"] == s }
}

// sameJob compares a job answer with a state answer: the same fields and
// values (times as instants), except the state's own at and shared and
// what skip lists.
func sameJob(t *testing.T, label string, job, state map[string]any, skip ...string) {
	t.Helper()
	j, s := utc(copyMap(job)).(map[string]any), utc(copyMap(state)).(map[string]any)
	delete(s, "at")
	delete(s, "shared")
	for _, k := range skip {
		delete(j, k)
		delete(s, k)
	}
	if reflect.DeepEqual(j, s) {
		return
	}
	var diffs []string
	for k := range j {
		if !reflect.DeepEqual(j[k], s[k]) {
			diffs = append(diffs, fmt.Sprintf("%s: job %v, state %v", k, j[k], s[k]))
		}
	}
	for k := range s {
		if _, ok := j[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: only in the state: %v", k, s[k]))
		}
	}
	sort.Strings(diffs)
	t.Errorf("%s:\n%s", label, strings.Join(diffs, "\n"))
}

func copyMap(m map[string]any) map[string]any {
	var c map[string]any
	b, _ := json.Marshal(m)
	_ = json.Unmarshal(b, &c)
	return c
}

// utc rewrites every RFC 3339 time in v as UTC, so times compare as instants.
func utc(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = utc(e)
		}
	case []any:
		for i, e := range x {
			x[i] = utc(e)
		}
	case string:
		if tm, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return tm.UTC().Format(time.RFC3339Nano)
		}
	}
	return v
}

// historyYAML fans out, merges, logs, waits a little and collects a list.
const historyYAML = `flow_id: history
routines:
  start:  {kind: input}
  split:  {kind: split, config: {expr: "data.items"}}
  double: {kind: transform, config: {expr: "{value: data * 2}"}}
  triple: {kind: transform, config: {expr: "{tripled: data * 3}"}}
  join:   {kind: merge, config: {strategy: override}}
  note:   {kind: log, config: {level: info, message: "pair {{ data.value }}"}}
  wait:   {kind: delay, config: {ms: 1}}
  done:   {kind: output, config: {mode: append}}
connections:
  - {from: start.output,  to: split.input}
  - {from: split.item,    to: double.input}
  - {from: split.item,    to: triple.input}
  - {from: double.output, to: join.input}
  - {from: triple.output, to: join.input}
  - {from: join.output,   to: note.input}
  - {from: note.output,   to: wait.input}
  - {from: wait.output,   to: done.input}
`

func TestStateOfAFinishedJobIsTheJob(t *testing.T) {
	c := newClient(t)
	c.flow(historyYAML)
	c.flow(flakyYAML)
	for _, body := range []string{`{"flow_id": "history", "params": {"items": [1, 2, 3, 4]}}`, `{"flow_id": "flaky", "params": {"value": 7}}`} {
		id := c.start(body)
		job := c.wait(id, func(j map[string]any) bool { return j["status"] == "completed" || j["status"] == "failed" })
		last := fmt.Sprint(job["events"])
		latest := c.get("/api/jobs/" + id + "/state")
		at := c.get("/api/jobs/" + id + "/state?at=" + last)
		if fmt.Sprint(latest["at"]) != last || fmt.Sprint(at["at"]) != last {
			t.Errorf("%s: at %v and %v, the job has %s events", id, latest["at"], at["at"], last)
		}
		sameJob(t, "latest "+id, job, latest)
		sameJob(t, "at "+last+" "+id, job, at)
	}
}

// flakyYAML fails: a filter whose expression is not a boolean, retried twice.
const flakyYAML = `flow_id: flaky
routines:
  start: {kind: input}
  check: {kind: filter, config: {expr: "data.value"}, error_policy: {strategy: retry, max_retries: 2, retry_delay: 5ms}}
  done:  {kind: output}
connections:
  - {from: start.output, to: check.input}
  - {from: check.true, to: done.input}
`

func TestStateOfAPausedJobIsTheLiveJob(t *testing.T) {
	c := newClient(t)
	c.flow(`flow_id: slowish
routines:
  start: {kind: input}
  prep:  {kind: transform, config: {expr: "{v: data.v + 1}"}}
  wait:  {kind: delay, config: {ms: 800}}
  done:  {kind: output}
connections:
  - {from: start.output, to: prep.input}
  - {from: prep.output, to: wait.input}
  - {from: wait.output, to: done.input}
`)
	id := c.start(`{"flow_id": "slowish", "params": {"v": 1}}`)
	c.wait(id, func(j map[string]any) bool { return j["current_node"] == "wait" })
	var paused map[string]any
	if code := c.call(http.MethodPost, "/api/jobs/"+id+"/pause", "", &paused); code != http.StatusOK {
		t.Fatalf("pause: %d %v", code, paused)
	}
	live := c.wait(id, statusIs("paused"))
	last := fmt.Sprint(live["events"])
	// A live job's duration grows; the state's is up to its event.
	sameJob(t, "paused, latest", live, c.get("/api/jobs/"+id+"/state"), "duration")
	sameJob(t, "paused, at "+last, live, c.get("/api/jobs/"+id+"/state?at="+last), "duration")
	if st := c.get("/api/jobs/" + id + "/state"); st["pause_reason"] != "api" || st["status"] != "paused" {
		t.Errorf("paused state: %v %v", st["status"], st["pause_reason"])
	}
	// The activation that was running when the pause came is in the history.
	acts := c.get("/api/jobs/" + id + "/activations?routine_id=wait")
	if list := acts["activations"].([]any); len(list) != 1 || list[0].(map[string]any)["status"] != "completed" {
		t.Errorf("wait's activations while paused: %v", acts)
	}
	if code := c.call(http.MethodPost, "/api/jobs/"+id+"/resume", "", nil); code != http.StatusOK {
		t.Fatalf("resume: %d", code)
	}
	job := c.wait(id, statusIs("completed"))
	sameJob(t, "after resume", job, c.get("/api/jobs/"+id+"/state"))
}

// TestEarlierStatesFollowTheEventStream rebuilds the routines' statuses
// from GET /events alone and checks the state at every seq against them.
func TestEarlierStatesFollowTheEventStream(t *testing.T) {
	c := newClient(t)
	c.flow(historyYAML)
	id := c.start(`{"flow_id": "history", "params": {"items": [5, 6]}}`)
	c.wait(id, statusIs("completed"))
	page := c.get("/api/jobs/" + id + "/events?limit=10000")
	evs := page["events"].([]any)
	statuses := map[string]string{"start": "pending", "split": "pending", "double": "pending", "triple": "pending",
		"join": "pending", "note": "pending", "wait": "pending", "done": "pending"}
	status, current := "pending", ""
	for _, raw := range evs {
		ev := raw.(map[string]any)
		rid, _ := ev["routine_id"].(string)
		switch ev["type"] {
		case "job_started":
			status = "running"
		case "job_completed":
			status = "completed"
		case "routine_started":
			statuses[rid], current = "running", rid
		case "routine_completed":
			statuses[rid] = "completed"
		case "routine_failed":
			if ev["status"] != "retrying" {
				statuses[rid] = ev["status"].(string)
			}
		}
		seq := fmt.Sprint(ev["seq"])
		st := c.get("/api/jobs/" + id + "/state?at=" + seq)
		if fmt.Sprint(st["at"]) != seq || fmt.Sprint(st["events"]) != seq || st["status"] != status || st["current_node"] != current {
			t.Fatalf("at %s: at %v events %v status %v current %v; the stream says %s, %q", seq, st["at"], st["events"], st["status"],
				st["current_node"], status, current)
		}
		for r, want := range statuses {
			if got := st["routine_states"].(map[string]any)[r].(map[string]any)["status"]; got != want {
				t.Errorf("at %s: routine %s is %v, the stream says %s", seq, r, got, want)
			}
		}
	}
}

func TestActivationsOverHTTP(t *testing.T) {
	c := newClient(t)
	c.flow(historyYAML)
	c.flow(flakyYAML)

	// A failed job: the routine that failed, with what went into it.
	failed := c.start(`{"flow_id": "flaky", "params": {"value": {"order": 17, "lines": ["a", "b"]}}}`)
	c.wait(failed, statusIs("failed"))
	page := c.get("/api/jobs/" + failed + "/activations?routine_id=check")
	if page["total"] != 1.0 || page["limit"] != 100.0 || page["offset"] != 0.0 {
		t.Fatalf("page %v", page)
	}
	check := page["activations"].([]any)[0].(map[string]any)
	want := map[string]any{"value": map[string]any{"order": 17.0, "lines": []any{"a", "b"}}}
	if !reflect.DeepEqual(check["input"], want) || check["status"] != "failed" || check["attempts"] != 3.0 ||
		!strings.Contains(fmt.Sprint(check["error"]), "want true or false") || check["parent_id"] != 1.0 || check["ended_seq"] == nil {
		t.Errorf("failed activation: %v", check)
	}
	one := c.get(fmt.Sprintf("/api/jobs/%s/activations/%v", failed, check["activation_id"]))
	if !reflect.DeepEqual(one, check) {
		t.Errorf("GET one: %v\nlisted: %v", one, check)
	}

	// Fan-out and fan-in: children and emitted data.
	id := c.start(`{"flow_id": "history", "params": {"items": [1, 2, 3]}}`)
	c.wait(id, statusIs("completed"))
	split := c.get("/api/jobs/" + id + "/activations?routine_id=split")["activations"].([]any)[0].(map[string]any)
	emitted := split["emitted"].([]any)
	children := split["children"].([]any)
	if len(emitted) != 3 || len(children) != 6 {
		t.Fatalf("split: %v", split)
	}
	for k, e := range emitted {
		e := e.(map[string]any)
		if e["event"] != "item" || e["data"] != float64(k+1) || e["targets"] != 2.0 {
			t.Errorf("emit %d: %v", k, e)
		}
		for _, child := range children[2*k : 2*k+2] {
			a := c.get(fmt.Sprintf("/api/jobs/%s/activations/%v", id, child))
			if a["parent_id"] != split["activation_id"] || a["input"] != float64(k+1) {
				t.Errorf("child %v of emit %d: %v", child, k, a)
			}
		}
	}
	joins := c.get("/api/jobs/" + id + "/activations?routine_id=join")
	rounds := 0
	for _, raw := range joins["activations"].([]any) {
		a := raw.(map[string]any)
		if em := a["emitted"].([]any); len(em) == 1 {
			rounds++
			merged := em[0].(map[string]any)["data"].(map[string]any)
			if merged["tripled"] != merged["value"].(float64)*1.5 {
				t.Errorf("merged %v", merged)
			}
		}
	}
	if joins["total"] != 6.0 || rounds != 3 {
		t.Errorf("joins: %v total, %d rounds", joins["total"], rounds)
	}
	all := c.get("/api/jobs/" + id + "/activations?limit=4&offset=2")
	list := all["activations"].([]any)
	if all["total"] != 1.0+1+6+6+3+3+3 || len(list) != 4 || list[0].(map[string]any)["activation_id"] != 3.0 {
		t.Errorf("page of all: total %v, %d items", all["total"], len(list))
	}
}

func TestHistoryRefusesBadInput(t *testing.T) {
	c := newClient(t)
	c.flow(historyYAML)
	id := c.start(`{"flow_id": "history", "params": {"items": [1]}}`)
	job := c.wait(id, statusIs("completed"))
	last := fmt.Sprint(job["events"])
	for _, at := range []string{"0", "-3", fmt.Sprint(job["events"].(float64) + 1)} {
		if msg := c.fails("/api/jobs/"+id+"/state?at="+at, http.StatusBadRequest, "BAD_QUERY"); !strings.Contains(msg, "between 1 and "+last) {
			t.Errorf("at=%s: message %q does not name the range 1..%s", at, msg, last)
		}
	}
	c.fails("/api/jobs/"+id+"/state?at=1.5", http.StatusBadRequest, "BAD_QUERY")
	c.fails("/api/jobs/"+id+"/state?at=latest", http.StatusBadRequest, "BAD_QUERY")
	c.fails("/api/jobs/job_ghost/state", http.StatusNotFound, "JOB_NOT_FOUND")
	c.fails("/api/jobs/job_ghost/state?at=1", http.StatusNotFound, "JOB_NOT_FOUND")
	c.fails("/api/jobs/job_ghost/activations", http.StatusNotFound, "JOB_NOT_FOUND")
	c.fails("/api/jobs/job_ghost/activations/1", http.StatusNotFound, "JOB_NOT_FOUND")
	c.fails("/api/jobs/"+id+"/activations/x1", http.StatusBadRequest, "BAD_REQUEST")
	c.fails("/api/jobs/"+id+"/activations/99999999999999999999", http.StatusBadRequest, "BAD_REQUEST")
	c.fails("/api/jobs/"+id+"/activations/0", http.StatusNotFound, "ACTIVATION_NOT_FOUND")
	c.fails("/api/jobs/"+id+"/activations/4242", http.StatusNotFound, "ACTIVATION_NOT_FOUND")
	c.fails("/api/jobs/"+id+"/activations?limit=0", http.StatusBadRequest, "BAD_QUERY")
	c.fails("/api/jobs/"+id+"/activations?limit=abc", http.StatusBadRequest, "BAD_QUERY")
}
