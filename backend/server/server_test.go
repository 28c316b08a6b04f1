package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/servertest"
)

// instance is a real server over a real SQLite file, served by httptest.
type instance struct {
	t *testing.T
	*servertest.Instance
}

func start(t *testing.T, dir string) *instance {
	return startWith(t, server.Config{DataDir: dir})
}

func startWith(t *testing.T, cfg server.Config) *instance {
	t.Helper()
	return &instance{t: t, Instance: servertest.Start(t, cfg)}
}

// do sends a request and decodes a JSON answer into out (if non-nil).
func (in *instance) do(method, path, contentType, body string, out any) int {
	in.t.Helper()
	req, err := http.NewRequest(method, in.URL+path, strings.NewReader(body))
	if err != nil {
		in.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			in.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

func (in *instance) json(method, path, body string, out any) int {
	in.t.Helper()
	return in.do(method, path, "application/json", body, out)
}

type job struct {
	JobID          string         `json:"job_id"`
	Status         string         `json:"status"`
	FlowVersion    int            `json:"flow_version"`
	Result         any            `json:"result"`
	Error          string         `json:"error"`
	Progress       float64        `json:"progress"`
	PauseRequested bool           `json:"pause_requested"`
	NodesCompleted int            `json:"nodes_completed"`
	RoutineStates  map[string]any `json:"routine_states"`
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (in *instance) startJob(flowID, params string) job {
	in.t.Helper()
	var j job
	if code := in.json("POST", "/api/jobs", fmt.Sprintf(`{"flow_id":%q,"params":%s}`, flowID, params), &j); code != http.StatusCreated {
		in.t.Fatalf("start job: %d", code)
	}
	return j
}

func (in *instance) waitJob(id string, done func(job) bool) job {
	in.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var j job
	for time.Now().Before(deadline) {
		in.json("GET", "/api/jobs/"+id, "", &j)
		if done(j) {
			return j
		}
		time.Sleep(10 * time.Millisecond)
	}
	in.t.Fatalf("job %s stuck at %+v", id, j)
	return j
}

func status(s string) func(job) bool { return func(j job) bool { return j.Status == s } }

const ordersYAML = `flow_id: orders
name: Orders
routines:
  start:  {kind: input}
  double: {kind: transform, config: {expr: "{value: data.value * 2}"}}
  slow:   {kind: delay, config: {ms: 300}}
  note:   {kind: log, config: {level: warning, message: "total is {{ data.value }}"}}
  done:   {kind: output}
connections:
  - {from: start.output,  to: double.input}
  - {from: double.output, to: slow.input}
  - {from: slow.output,   to: note.input}
  - {from: note.output,   to: done.input, param_mapping: {value: total}}
`

func dsl(yaml string) string {
	b, _ := json.Marshal(map[string]string{"dsl": yaml})
	return string(b)
}

func TestFlowLifecycleOverHTTP(t *testing.T) {
	in := start(t, t.TempDir())
	var created map[string]any
	if code := in.json("POST", "/api/flows", dsl(ordersYAML), &created); code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, created)
	}
	if created["version"] != 1.0 {
		t.Fatalf("version %v", created["version"])
	}
	var e apiError
	if code := in.json("POST", "/api/flows", dsl(ordersYAML), &e); code != http.StatusConflict || e.Error.Code != "FLOW_EXISTS" {
		t.Fatalf("duplicate: %d %+v", code, e)
	}
	// YAML body directly, and JSON, as new versions.
	if code := in.do("PUT", "/api/flows/orders", "application/yaml", strings.Replace(ordersYAML, "Orders", "Orders v2", 1), nil); code != http.StatusOK {
		t.Fatalf("put yaml: %d", code)
	}
	var asJSON map[string]any
	in.json("GET", "/api/flows/orders/dsl?format=json", "", &asJSON)
	asJSON["name"] = "Orders v3"
	body, _ := json.Marshal(asJSON)
	var v3 map[string]any
	if code := in.json("PUT", "/api/flows/orders", string(body), &v3); code != http.StatusOK || v3["version"] != 3.0 {
		t.Fatalf("put json: %d %v", code, v3)
	}
	// DSL round trip: the YAML we hand out is accepted back unchanged.
	req, _ := http.NewRequest("GET", in.URL+"/api/flows/orders/dsl?format=yaml", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	yml, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(resp.Header.Get("Content-Type"), "yaml") || !bytes.Contains(yml, []byte("Orders v3")) {
		t.Fatalf("dsl yaml: %s %s", resp.Header.Get("Content-Type"), yml)
	}
	var res struct {
		Valid  bool  `json:"valid"`
		Errors []any `json:"errors"`
	}
	if code := in.do("POST", "/api/flows/orders/validate", "application/yaml", string(yml), &res); code != 200 || !res.Valid {
		t.Fatalf("validate round-tripped yaml: %d %+v", code, res)
	}
	var old map[string]any
	if in.json("GET", "/api/flows/orders?version=1", "", &old); old["name"] != "Orders" {
		t.Fatalf("version 1: %v", old["name"])
	}
	var list struct {
		Flows []map[string]any `json:"flows"`
		Total int              `json:"total"`
	}
	in.json("GET", "/api/flows", "", &list)
	if list.Total != 1 || list.Flows[0]["version"] != 3.0 {
		t.Fatalf("list %+v", list)
	}
	if code := in.json("DELETE", "/api/flows/orders", "", nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	if code := in.json("GET", "/api/flows/orders", "", &e); code != 404 || e.Error.Code != "FLOW_NOT_FOUND" {
		t.Fatalf("get deleted: %d %+v", code, e)
	}
}

func TestValidateReportsRoutineAndConnection(t *testing.T) {
	in := start(t, t.TempDir())
	bad := `flow_id: broken
routines:
  start: {kind: input}
  calc: {kind: transform, config: {expr: "data.value +* 2"}}
  odd: {kind: teleport}
connections:
  - {from: start.output, to: calc.nope}
  - {from: calc.output, to: ghost.input}
`
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Details struct {
				Errors []struct {
					Code       string `json:"code"`
					RoutineID  string `json:"routine_id"`
					Connection *int   `json:"connection"`
					Message    string `json:"message"`
				} `json:"errors"`
			} `json:"details"`
		} `json:"error"`
	}
	if code := in.json("POST", "/api/flows", dsl(bad), &e); code != http.StatusUnprocessableEntity || e.Error.Code != "FLOW_INVALID" {
		t.Fatalf("create invalid: %d %+v", code, e)
	}
	seen := map[string]bool{}
	for _, is := range e.Error.Details.Errors {
		key := is.Code + ":" + is.RoutineID
		if is.Connection != nil {
			key += fmt.Sprintf("#%d", *is.Connection)
		}
		seen[key] = true
	}
	for _, want := range []string{"BAD_CONFIG:calc", "UNKNOWN_KIND:odd", "UNKNOWN_SLOT:calc#0", "DANGLING_CONNECTION:#1"} {
		if !seen[want] {
			t.Errorf("missing %s in %v", want, seen)
		}
	}
}

func TestJobRunsPausesResumesAndIsQueryable(t *testing.T) {
	in := start(t, t.TempDir())
	in.json("POST", "/api/flows", dsl(ordersYAML), nil)

	j := in.startJob("orders", `{"value": 21}`)
	done := in.waitJob(j.JobID, status("completed"))
	if m, _ := done.Result.(map[string]any); m["total"] != 42.0 {
		t.Fatalf("result %v", done.Result)
	}
	if done.Progress != 1 || done.NodesCompleted != 5 || len(done.RoutineStates) != 5 {
		t.Fatalf("job %+v", done)
	}

	// Pause in the middle of the delay: the delay finishes, nothing after it runs.
	p := in.startJob("orders", `{"value": 1}`)
	in.waitJob(p.JobID, func(j job) bool {
		st, _ := j.RoutineStates["slow"].(map[string]any)
		return st["status"] == "running"
	})
	var paused job
	if code := in.json("POST", "/api/jobs/"+p.JobID+"/pause", "", &paused); code != 200 || !paused.PauseRequested {
		t.Fatalf("pause: %d %+v", code, paused)
	}
	paused = in.waitJob(p.JobID, status("paused"))
	if st := paused.RoutineStates["note"].(map[string]any); st["status"] != "pending" {
		t.Fatalf("note ran while paused: %v", st)
	}
	var e apiError
	if code := in.json("POST", "/api/jobs/"+p.JobID+"/pause", "", &e); code != http.StatusConflict || !strings.Contains(e.Error.Message, "paused") {
		t.Fatalf("pause twice: %d %+v", code, e)
	}
	if code := in.json("POST", "/api/jobs/"+p.JobID+"/resume", "", nil); code != 200 {
		t.Fatalf("resume: %d", code)
	}
	resumed := in.waitJob(p.JobID, status("completed"))
	if m, _ := resumed.Result.(map[string]any); m["total"] != 2.0 {
		t.Fatalf("resumed result %v", resumed.Result)
	}
	if code := in.json("POST", "/api/jobs/"+p.JobID+"/resume", "", &e); code != http.StatusConflict || !strings.Contains(e.Error.Message, "completed") {
		t.Fatalf("resume finished: %d %+v", code, e)
	}

	// Cancel during the delay ends the job promptly.
	c := in.startJob("orders", `{"value": 1}`)
	began := time.Now()
	var cancelled job
	if code := in.json("POST", "/api/jobs/"+c.JobID+"/cancel", "", &cancelled); code != 200 || cancelled.Status != "cancelled" {
		t.Fatalf("cancel answers the ended job: %d %+v", code, cancelled)
	}
	if time.Since(began) > 2*time.Second {
		t.Fatalf("cancel took %s", time.Since(began))
	}

	// Events: complete, ordered, and since= resumes exactly after a seq.
	var evs struct {
		Events []struct {
			Seq  int64  `json:"seq"`
			Type string `json:"type"`
		} `json:"events"`
		NextSince int64 `json:"next_since"`
	}
	in.json("GET", "/api/jobs/"+p.JobID+"/events", "", &evs)
	types := map[string]int{}
	for i, ev := range evs.Events {
		if ev.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, ev.Seq)
		}
		types[ev.Type]++
	}
	if types["job_paused"] != 1 || types["job_resumed"] != 1 || types["job_completed"] != 1 || types["routine_started"] != 5 {
		t.Fatalf("event types %v", types)
	}
	all := len(evs.Events)
	in.json("GET", fmt.Sprintf("/api/jobs/%s/events?since=%d", p.JobID, all-2), "", &evs)
	if len(evs.Events) != 2 || evs.Events[0].Seq != int64(all-1) || evs.NextSince != int64(all) {
		t.Fatalf("since: %+v", evs)
	}

	var logs struct {
		Logs []struct {
			Level     string `json:"level"`
			RoutineID string `json:"routine_id"`
			Message   string `json:"message"`
		} `json:"logs"`
		Total int `json:"total"`
	}
	in.json("GET", "/api/jobs/"+done.JobID+"/logs?level=warning&routine_id=note&q=TOTAL", "", &logs)
	if logs.Total != 1 || logs.Logs[0].Message != "total is 42" {
		t.Fatalf("logs %+v", logs)
	}
	var metrics struct {
		Activations int64                     `json:"activations"`
		Routines    map[string]map[string]any `json:"routines"`
	}
	in.json("GET", "/api/jobs/"+done.JobID+"/metrics", "", &metrics)
	if metrics.Activations != 5 || metrics.Routines["slow"]["completed"] != 1.0 {
		t.Fatalf("metrics %+v", metrics)
	}

	var jobs struct {
		Jobs  []job `json:"jobs"`
		Total int   `json:"total"`
	}
	in.json("GET", "/api/jobs?flow_id=orders&status=completed&limit=1", "", &jobs)
	if jobs.Total != 2 || len(jobs.Jobs) != 1 {
		t.Fatalf("job list %+v", jobs)
	}
}

// A short log's record is stored without its routine states; GET folds
// them from the log: the same as the engine ended the job with (what a
// synchronous run answers), in the next process too.
func TestFinishedJobShowsTheRoutineStatesItEndedWith(t *testing.T) {
	dir := t.TempDir()
	in := start(t, dir)
	in.json("POST", "/api/flows", dsl(ordersYAML), nil)
	var ended map[string]any
	if code := in.json("POST", "/api/jobs?wait=30s", `{"flow_id": "orders", "params": {"value": 2}}`, &ended); code != http.StatusCreated {
		t.Fatalf("synchronous run: %d %v", code, ended)
	}
	if states, _ := ended["routine_states"].(map[string]any); len(states) != 5 {
		t.Fatalf("the engine's end: %v", ended)
	}
	for round := range 2 {
		if round == 1 {
			in.Stop()
			in = start(t, dir)
		}
		var got map[string]any
		if code := in.json("GET", "/api/jobs/"+ended["job_id"].(string), "", &got); code != http.StatusOK ||
			!reflect.DeepEqual(got["routine_states"], ended["routine_states"]) {
			t.Fatalf("round %d: record %d %v,\nthe engine ended with %v", round, code, got["routine_states"], ended["routine_states"])
		}
	}
}

func TestRunningJobKeepsItsFlowVersion(t *testing.T) {
	in := start(t, t.TempDir())
	in.json("POST", "/api/flows", dsl(ordersYAML), nil)
	j := in.startJob("orders", `{"value": 5}`)
	changed := strings.Replace(ordersYAML, "data.value * 2", "data.value * 100", 1)
	if code := in.json("PUT", "/api/flows/orders", dsl(changed), nil); code != 200 {
		t.Fatalf("put: %d", code)
	}
	done := in.waitJob(j.JobID, status("completed"))
	if m, _ := done.Result.(map[string]any); m["total"] != 10.0 || done.FlowVersion != 1 {
		t.Fatalf("job saw the new version: %+v", done)
	}
	next := in.waitJob(in.startJob("orders", `{"value": 5}`).JobID, status("completed"))
	if m, _ := next.Result.(map[string]any); m["total"] != 500.0 || next.FlowVersion != 2 {
		t.Fatalf("new job: %+v", next)
	}
}

func TestRestartKeepsEverythingAndFailsInterruptedJobs(t *testing.T) {
	dir := t.TempDir()
	in := start(t, dir)
	in.json("POST", "/api/flows", dsl(strings.Replace(ordersYAML, "ms: 300", "ms: 60000", 1)), nil)
	j := in.startJob("orders", `{"value": 1}`)
	in.waitJob(j.JobID, func(j job) bool { return j.RoutineStates["slow"].(map[string]any)["status"] == "running" })
	in.Stop()

	again := start(t, dir)
	var got job
	if code := again.json("GET", "/api/jobs/"+j.JobID, "", &got); code != 200 || got.Status != "failed" || !strings.Contains(got.Error, "interrupted") {
		t.Fatalf("after restart: %d %+v", code, got)
	}
	var evs struct {
		Events []map[string]any `json:"events"`
	}
	again.json("GET", "/api/jobs/"+j.JobID+"/events", "", &evs)
	if n := len(evs.Events); n < 5 || evs.Events[n-1]["type"] != "job_failed" {
		t.Fatalf("events after restart: %d", n)
	}
	if code := again.json("GET", "/api/flows/orders", "", nil); code != 200 {
		t.Fatalf("flow after restart: %d", code)
	}
}

func TestBadInputGetsClear4xx(t *testing.T) {
	in := start(t, t.TempDir())
	in.json("POST", "/api/flows", dsl(ordersYAML), nil)
	done := in.waitJob(in.startJob("orders", `{"value": 1}`).JobID, status("completed"))
	huge := `{"dsl": "` + strings.Repeat("x", 2<<20) + `"}`
	cases := []struct {
		method, path, ctype, body string
		status                    int
		code, mention             string
	}{
		{"POST", "/api/flows", "application/json", `{"flow_id": `, 400, "BAD_JSON", "JSON"},
		{"POST", "/api/flows", "application/json", `[1,2]`, 400, "BAD_JSON", "flow"},
		{"POST", "/api/flows", "application/json", `{"dsl": 7}`, 400, "BAD_JSON", "dsl"},
		{"POST", "/api/flows", "application/json", dsl("flow_id: [oops"), 400, "BAD_FLOW", "YAML"},
		{"POST", "/api/flows", "application/json", `{"flow_id": 12, "routines": {}}`, 400, "BAD_FLOW", "flow_id"},
		{"POST", "/api/flows", "application/json", `{"flow_id": "x", "routines": {"a": {"kind": "warp"}}, "connections": []}`, 422, "FLOW_INVALID", "warp"},
		{"POST", "/api/flows", "application/json", `{"flow_id": "../etc", "routines": {"a": {"kind": "input"}}, "connections": []}`, 422, "FLOW_INVALID", "flow_id"},
		{"POST", "/api/flows", "application/json", huge, 413, "BODY_TOO_LARGE", "exceeds"},
		{"PUT", "/api/flows/other", "application/json", dsl(ordersYAML), 400, "FLOW_ID_MISMATCH", "orders"},
		{"PUT", "/api/flows/ghost", "application/json", dsl(strings.Replace(ordersYAML, "flow_id: orders", "flow_id: ghost", 1)), 404, "FLOW_NOT_FOUND", "ghost"},
		{"GET", "/api/flows/ghost", "", "", 404, "FLOW_NOT_FOUND", "ghost"},
		{"GET", "/api/flows/orders?version=99", "", "", 404, "FLOW_NOT_FOUND", "99"},
		{"GET", "/api/flows/orders?version=abc", "", "", 400, "BAD_QUERY", "version"},
		{"GET", "/api/flows/orders/dsl?format=xml", "", "", 400, "BAD_QUERY", "format"},
		{"GET", "/api/flows?limit=-1", "", "", 400, "BAD_QUERY", "limit"},
		{"GET", "/api/flows?limit=100000000", "", "", 400, "BAD_QUERY", "limit"},
		{"GET", "/api/jobs?offset=-5", "", "", 400, "BAD_QUERY", "offset"},
		{"GET", "/api/jobs?status=sleeping", "", "", 400, "BAD_QUERY", "status"},
		{"POST", "/api/jobs", "application/json", ``, 400, "BAD_JSON", "empty"},
		{"POST", "/api/jobs", "application/json", `{"flow_id": "orders", "params": {"value": 1}, "extra": true}`, 400, "BAD_JSON", "extra"},
		{"POST", "/api/jobs", "application/json", `{"flow_id": 5}`, 400, "BAD_JSON", "flow_id"},
		{"POST", "/api/jobs", "application/json", `{}`, 400, "BAD_REQUEST", "flow_id"},
		{"POST", "/api/jobs", "application/json", `{"flow_id": "ghost"}`, 404, "FLOW_NOT_FOUND", "ghost"},
		{"POST", "/api/jobs", "application/json", `{"flow_id": "orders", "entry_routine_id": "nowhere"}`, 422, "ENTRY_INVALID", "nowhere"},
		{"GET", "/api/jobs/job_nope", "", "", 404, "JOB_NOT_FOUND", "job_nope"},
		{"POST", "/api/jobs/job_nope/pause", "", "", 404, "JOB_NOT_FOUND", "job_nope"},
		{"POST", "/api/jobs/" + done.JobID + "/cancel", "", "", 409, "JOB_STATE_CONFLICT", "completed"},
		{"GET", "/api/jobs/" + done.JobID + "/events?since=-1", "", "", 400, "BAD_QUERY", "since"},
		{"GET", "/api/jobs/" + done.JobID + "/events?limit=0", "", "", 400, "BAD_QUERY", "limit"},
		{"GET", "/api/jobs/" + done.JobID + "/logs?level=loud", "", "", 400, "BAD_QUERY", "level"},
		{"GET", "/api/jobs/job_nope/logs", "", "", 404, "JOB_NOT_FOUND", "job_nope"},
		{"GET", "/api/nothing-here", "", "", 404, "NOT_FOUND", "nothing-here"},
		{"DELETE", "/api/jobs", "", "", 405, "METHOD_NOT_ALLOWED", "DELETE"},
	}
	for _, tc := range cases {
		var e apiError
		code := in.do(tc.method, tc.path, tc.ctype, tc.body, &e)
		if code != tc.status || e.Error.Code != tc.code || !strings.Contains(e.Error.Message, tc.mention) {
			name := tc.body
			if len(name) > 60 {
				name = name[:60]
			}
			t.Errorf("%s %s %q: got %d %s %q, want %d %s mentioning %q", tc.method, tc.path, name, code, e.Error.Code, e.Error.Message, tc.status, tc.code, tc.mention)
		}
	}
	// Nothing half-written: the failed creates left exactly one flow.
	var list struct {
		Total int `json:"total"`
	}
	in.json("GET", "/api/flows", "", &list)
	if list.Total != 1 {
		t.Fatalf("flows after bad input: %d", list.Total)
	}
}

func TestExamplesLoadOnFirstStartAndRun(t *testing.T) {
	in := startWith(t, server.Config{Examples: true})
	var list struct {
		Flows []struct {
			ID string `json:"flow_id"`
		} `json:"flows"`
	}
	in.json("GET", "/api/flows", "", &list)
	if len(list.Flows) < 3 {
		t.Fatalf("examples: %+v", list)
	}
	j := in.startJob("tour", `{"orders": [{"id": 1, "amount": 150}, {"id": 2, "amount": 60}, {"id": 3, "amount": 5}]}`)
	done := in.waitJob(j.JobID, func(j job) bool { return j.Status != "running" && j.Status != "pending" })
	if done.Status != "completed" {
		t.Fatalf("tour: %+v", done)
	}
	if list, _ := done.Result.([]any); len(list) != 3 {
		t.Fatalf("tour result %v", done.Result)
	}
	// Its http routine reached this server's health endpoint, on whatever port
	// it runs (job.server), instead of being skipped.
	if health, _ := done.RoutineStates["health"].(map[string]any); health["status"] != "completed" {
		t.Fatalf("tour's health check: %v", done.RoutineStates["health"])
	}
}
