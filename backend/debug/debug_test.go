package debug_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const chainYAML = `flow_id: chain
routines:
  start:  {kind: input}
  double: {kind: transform, config: {expr: "{value: data.value * 2}"}}
  done:   {kind: output}
connections:
  - {from: start.output,  to: double.input}
  - {from: double.output, to: done.input}
`

// branchyYAML has a split, a switch and a merge. Run sequentially with
// items [1, 5], activations are numbered 1 start, 2 fan, 3 route(1),
// 4 route(5), 5 small(1), 6 big(5), 7 join(1), 8 join(50), 9 done.
const branchyYAML = `flow_id: branchy
execution: {strategy: sequential}
routines:
  start: {kind: input}
  fan:   {kind: split, config: {expr: "data.items"}}
  route:
    kind: switch
    config:
      cases: [{when: "data > 2", event: big}]
      default: small
  big:   {kind: transform, config: {expr: "data * 10"}}
  small: {kind: transform, config: {expr: "data"}}
  join:  {kind: merge, config: {strategy: append}}
  done:  {kind: output}
connections:
  - {from: start.output, to: fan.input}
  - {from: fan.item,     to: route.input}
  - {from: route.big,    to: big.input}
  - {from: route.small,  to: small.input}
  - {from: big.output,   to: join.input}
  - {from: small.output, to: join.input}
  - {from: join.output,  to: done.input}
`

const itemsYAML = `flow_id: items
routines:
  start: {kind: input}
  fan:   {kind: split, config: {expr: "data.items"}}
  work:  {kind: transform, config: {expr: "data"}}
  done:  {kind: output, config: {mode: append}}
connections:
  - {from: start.output, to: fan.input}
  - {from: fan.item,     to: work.input}
  - {from: work.output,  to: done.input}
`

// stepper follows one job from stop to stop.
type stepper struct {
	s     *srv
	id    string
	pause string
	stops []string // "activation:routine" of every stop seen
}

// next waits for a stop other than the last one and records it.
func (st *stepper) next() job {
	st.s.t.Helper()
	j := st.s.wait(st.id, func(j job) bool { return paused(j) && j.PausedAt.PauseID != st.pause })
	st.pause = j.PausedAt.PauseID
	st.stops = append(st.stops, fmt.Sprintf("%d:%s", j.PausedAt.ActivationID, j.PausedAt.RoutineID))
	return j
}

func (st *stepper) command(cmd string) {
	st.s.t.Helper()
	st.s.call(http.StatusOK, http.MethodPost, "/api/jobs/"+st.id+"/debug/"+cmd, fmt.Sprintf(`{"pause_id": %q}`, st.pause), nil)
}

func TestSteppingFollowsTheCausalChain(t *testing.T) {
	s := startServer(t, "")
	s.flow(branchyYAML)
	st := &stepper{s: s, id: s.start("branchy", `{"items": [1, 5]}`, true)}
	st.next() // stop on entry
	for _, cmd := range []string{"step-into", "step-into", "step-into", "step-over", "step-over"} {
		st.command(cmd)
		st.next()
	}
	checkCallStack(t, s, st.id)
	st.command("step-out") // nothing shallower comes: runs to the end
	final := s.wait(st.id, finished)
	want := []string{"1:start", "2:fan", "3:route", "5:small", "6:big", "7:join"}
	if strings.Join(st.stops, " ") != strings.Join(want, " ") {
		t.Fatalf("stops %v, want %v", st.stops, want)
	}
	if final.Status != "completed" || fmt.Sprint(final.Result) != "[1 50]" {
		t.Fatalf("final %+v", final)
	}
	// The history read at the stops (for the call stack) goes on to the end.
	var acts struct {
		Activations []struct {
			ActivationID int64   `json:"activation_id"`
			Children     []int64 `json:"children"`
			Emitted      []struct {
				Event string `json:"event"`
				Data  any    `json:"data"`
			} `json:"emitted"`
		} `json:"activations"`
	}
	s.call(http.StatusOK, http.MethodGet, "/api/jobs/"+st.id+"/activations", "", &acts)
	var tree []string
	for _, a := range acts.Activations {
		tree = append(tree, fmt.Sprintf("%d%v%v", a.ActivationID, a.Children, a.Emitted))
	}
	wantTree := "1[2][{output map[items:[1 5]]}] 2[3 4][{item 1} {item 5}] 3[5][{small 1}] 4[6][{big 5}] " +
		"5[7][{output 1}] 6[8][{output 50}] 7[][] 8[9][{output [1 50]}] 9[][]"
	if strings.Join(tree, " ") != wantTree {
		t.Fatalf("activations\n got %s\nwant %s", strings.Join(tree, " "), wantTree)
	}
	// The session is in the job's log: a hit and a resume per stop.
	var page struct {
		Events []struct {
			Type string `json:"type"`
			Data any    `json:"data"`
		} `json:"events"`
	}
	s.call(http.StatusOK, http.MethodGet, "/api/jobs/"+st.id+"/events?limit=10000", "", &page)
	var modes []string
	hits := 0
	for _, ev := range page.Events {
		switch ev.Type {
		case "breakpoint_hit":
			hits++
		case "breakpoint_resumed":
			modes = append(modes, fmt.Sprint(ev.Data.(map[string]any)["step_mode"]))
		}
	}
	if hits != 6 || strings.Join(modes, ",") != "into,into,into,over,over,out" {
		t.Fatalf("log has %d hits, resumes %v", hits, modes)
	}
}

func TestStepOutStopsAtABreakpointOnTheWay(t *testing.T) {
	s := startServer(t, "")
	s.flow(branchyYAML)
	st := &stepper{s: s, id: s.start("branchy", `{"items": [1, 5]}`, true)}
	st.next()
	s.addBreakpoint("/api/jobs/"+st.id, `{"routine_id": "done"}`)
	st.command("step-out")
	j := st.next()
	if j.PausedAt.RoutineID != "done" || j.PausedAt.Type != "routine" || j.PausedAt.BreakpointID == nil {
		t.Fatalf("paused at %+v", j.PausedAt)
	}
	st.command("resume")
	if f := s.wait(st.id, finished); f.Status != "completed" {
		t.Fatalf("final %+v", f)
	}
}

func TestConditionalFlowBreakpointPausesExactlyTheMatchingJobs(t *testing.T) {
	s := startServer(t, "")
	s.flow(chainYAML)
	flowBP := s.addBreakpoint("/api/flows/chain", `{"type": "routine", "routine_id": "double", "condition": "int(data.value) % 3 == 0"}`)
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = s.start("chain", fmt.Sprintf(`{"value": %d}`, i), false)
	}
	var pausedValues []int
	for i, id := range ids {
		j := s.wait(id, func(j job) bool { return paused(j) || finished(j) })
		if !paused(j) {
			if j.Status != "completed" {
				t.Fatalf("job %d: %+v", i, j)
			}
			continue
		}
		pausedValues = append(pausedValues, i)
		if j.PauseReason != "breakpoint" || j.PausedAt.RoutineID != "double" {
			t.Fatalf("job %d paused as %+v", i, j)
		}
		bps := s.breakpoints("/api/jobs/" + id)
		if len(bps) != 1 || bps[0].InheritedFrom == nil || *bps[0].InheritedFrom != flowBP.ID || bps[0].HitCount != 1 {
			t.Fatalf("job %d breakpoints %+v", i, bps)
		}
		if *j.PausedAt.BreakpointID != bps[0].ID {
			t.Fatalf("job %d paused at %v, its breakpoint is %s", i, *j.PausedAt.BreakpointID, bps[0].ID)
		}
	}
	if fmt.Sprint(pausedValues) != "[0 3 6 9 12 15 18]" {
		t.Fatalf("paused jobs %v, want the 7 multiples of 3", pausedValues)
	}
	for _, i := range pausedValues { // a plain resume continues from the stop
		s.call(http.StatusOK, http.MethodPost, "/api/jobs/"+ids[i]+"/resume", "", nil)
		if f := s.wait(ids[i], finished); f.Status != "completed" || fmt.Sprint(f.Result) != fmt.Sprintf("map[value:%d]", 2*i) {
			t.Fatalf("job %d: %+v", i, f)
		}
	}
}

func TestHitConditionAndLogpoint(t *testing.T) {
	s := startServer(t, "")
	s.flow(itemsYAML)
	s.addBreakpoint("/api/flows/items", `{"routine_id": "work", "hit_condition": "3"}`)
	s.addBreakpoint("/api/flows/items", `{"routine_id": "work", "log_message": "saw {{ data }}", "condition": "data != 20"}`)
	id := s.start("items", `{"items": [10, 20, 30, 40, 50]}`, false)
	j := s.wait(id, paused)
	var vars struct {
		Data any `json:"data"`
	}
	s.call(http.StatusOK, http.MethodGet, "/api/jobs/"+id+"/debug/variables", "", &vars)
	if vars.Data != 30.0 {
		t.Fatalf("paused at %+v with data %v, want the 3rd item", j.PausedAt, vars.Data)
	}
	s.call(http.StatusOK, http.MethodPost, "/api/jobs/"+id+"/debug/resume", "", nil)
	s.wait(id, finished)
	bps := s.breakpoints("/api/jobs/" + id)
	if len(bps) != 2 || bps[0].HitCount != 5 || bps[1].HitCount != 4 {
		t.Fatalf("hit counts %+v, want 5 and 4", bps)
	}
	var logs struct {
		Logs []struct {
			Message string `json:"message"`
		} `json:"logs"`
	}
	s.call(http.StatusOK, http.MethodGet, "/api/jobs/"+id+"/logs?q=saw", "", &logs)
	var got []string
	for _, l := range logs.Logs {
		got = append(got, l.Message)
	}
	if strings.Join(got, ",") != "saw 10,saw 30,saw 40,saw 50" {
		t.Fatalf("logpoint lines %q", got)
	}
}

func TestEditedVariablesChangeTheResult(t *testing.T) {
	s := startServer(t, "")
	s.flow(chainYAML)
	id := s.start("chain", `{"value": 2}`, true)
	s.wait(id, paused)
	s.addBreakpoint("/api/jobs/"+id, `{"routine_id": "double"}`)
	s.addBreakpoint("/api/jobs/"+id, `{"type": "event", "routine_id": "double", "event_name": "output"}`)
	st := &stepper{s: s, id: id, pause: s.job(id).PausedAt.PauseID}
	st.command("resume")
	st.next() // before double runs
	s.call(http.StatusBadRequest, http.MethodPut, "/api/jobs/"+id+"/debug/variables/data.value.deeper", `{"value": 1}`, nil)
	s.call(http.StatusBadRequest, http.MethodPut, "/api/jobs/"+id+"/debug/variables/params", `{"value": 1}`, nil)
	s.call(http.StatusOK, http.MethodPut, "/api/jobs/"+id+"/debug/variables/data.value", `{"value": 10}`, nil)
	st.command("resume")
	j := st.next() // before double emits {value: 20}
	if j.PausedAt.Type != "event" {
		t.Fatalf("paused at %+v", j.PausedAt)
	}
	var vars struct {
		Data map[string]any `json:"data"`
	}
	s.call(http.StatusOK, http.MethodGet, "/api/jobs/"+id+"/debug/variables", "", &vars)
	if vars.Data["value"] != 20.0 {
		t.Fatalf("about to emit %v", vars.Data)
	}
	s.call(http.StatusOK, http.MethodPut, "/api/jobs/"+id+"/debug/variables/data", `{"value": {"value": 7, "edited": true}}`, nil)
	st.command("resume")
	if f := s.wait(id, finished); fmt.Sprint(f.Result) != "map[edited:true value:7]" {
		t.Fatalf("result %v", f.Result)
	}
	var page struct {
		Events []struct {
			Type string `json:"type"`
			Data any    `json:"data"`
		} `json:"events"`
	}
	s.call(http.StatusOK, http.MethodGet, "/api/jobs/"+id+"/events", "", &page)
	var changes []string
	for _, ev := range page.Events {
		if ev.Type == "variable_changed" {
			d := ev.Data.(map[string]any)
			changes = append(changes, fmt.Sprintf("%v:%v->%v", d["name"], d["old"], d["new"]))
		}
	}
	if strings.Join(changes, " ") != "data.value:2->10 data:map[value:20]->map[edited:true value:7]" {
		t.Fatalf("variable_changed events %q", changes)
	}
}

func TestEvaluate(t *testing.T) {
	s := startServer(t, "")
	s.flow(chainYAML)
	id := s.start("chain", fmt.Sprintf(`{"value": 2, "text": %q}`, strings.Repeat("x", 2000)), true)
	s.wait(id, paused)
	eval := func(expr string) (result any, typ, errText string) {
		var r struct {
			Result any    `json:"result"`
			Type   string `json:"type"`
			Error  string `json:"error"`
		}
		body := fmt.Sprintf(`{"expression": %q}`, expr)
		s.call(http.StatusOK, http.MethodPost, "/api/jobs/"+id+"/debug/evaluate", body, &r)
		return r.Result, r.Type, r.Error
	}
	if v, typ, e := eval("data.value + 1"); v != 3.0 || typ != "number" || e != "" {
		t.Fatalf("good: %v %s %q", v, typ, e)
	}
	if v, typ, _ := eval("{a: job.params.value, b: shared}"); typ != "object" || fmt.Sprint(v) != "map[a:2 b:map[]]" {
		t.Fatalf("object: %v %s", v, typ)
	}
	for expr, want := range map[string]string{
		"data.value +":   "(1:12)",
		"nope.value":     "unknown name nope",
		"data.value.x.y": "cannot fetch",
		`len(reduce(1..27, #acc + #acc, "` + strings.Repeat("y", 100) + `"))`: "memory budget exceeded",
		"sum(1..3000, sum(1..3000, # * #))":                                   "timed out after 100ms",
	} {
		start := time.Now()
		if v, _, e := eval(expr); !strings.Contains(e, want) || v != nil {
			t.Errorf("%s: result %v, error %q, want it to contain %q", expr, v, e, want)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: answered after %s", expr, d)
		}
	}
	s.call(http.StatusOK, http.MethodPost, "/api/jobs/"+id+"/debug/resume", "", nil)
	s.wait(id, finished)
	s.refused(http.StatusConflict, "NOT_PAUSED", http.MethodPost, "/api/jobs/"+id+"/debug/evaluate", `{"expression": "1"}`)
}

func TestCancelAPausedJob(t *testing.T) {
	s := startServer(t, "")
	s.flow(chainYAML)
	id := s.start("chain", `{"value": 1}`, true)
	s.wait(id, paused)
	var j job
	s.call(http.StatusOK, http.MethodPost, "/api/jobs/"+id+"/cancel", "", &j)
	if j.Status != "cancelled" {
		t.Fatalf("after cancel: %+v", j)
	}
	s.refused(http.StatusConflict, "NOT_PAUSED", http.MethodPost, "/api/jobs/"+id+"/debug/step-over", "")
	var sess struct {
		Status string `json:"status"`
	}
	s.call(http.StatusOK, http.MethodGet, "/api/jobs/"+id+"/debug/session", "", &sess)
	if sess.Status != "cancelled" {
		t.Fatalf("session %+v", sess)
	}
}

func TestTwoClientsOnOnePause(t *testing.T) {
	s := startServer(t, "")
	s.flow(chainYAML)
	id := s.start("chain", `{"value": 1}`, true)
	pause := s.wait(id, paused).PausedAt.PauseID
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/jobs/"+id+"/debug/step-into", strings.NewReader(fmt.Sprintf(`{"pause_id": %q}`, pause)))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	if !(statuses[0] == 200 && statuses[1] == 409 || statuses[0] == 409 && statuses[1] == 200) {
		t.Fatalf("statuses %v, want one 200 and one 409", statuses)
	}
	j := s.wait(id, func(j job) bool { return paused(j) && j.PausedAt.PauseID != pause })
	if j.PausedAt.RoutineID != "double" { // stepped once, not twice
		t.Fatalf("paused at %+v", j.PausedAt)
	}
	msg := s.refused(http.StatusConflict, "PAUSE_STALE", http.MethodPost, "/api/jobs/"+id+"/debug/step-into", fmt.Sprintf(`{"pause_id": %q}`, pause))
	if !strings.Contains(msg, j.PausedAt.PauseID) {
		t.Fatalf("stale message %q does not name the current pause", msg)
	}
	current := j.PausedAt.PauseID
	s.call(http.StatusOK, http.MethodPost, "/api/jobs/"+id+"/debug/resume", fmt.Sprintf(`{"pause_id": %q}`, current), nil)
	s.wait(id, finished)
	// Once the job has run on, the old pause is stale; without one, the job is simply not paused.
	s.refused(http.StatusConflict, "PAUSE_STALE", http.MethodPost, "/api/jobs/"+id+"/debug/resume", fmt.Sprintf(`{"pause_id": %q}`, current))
	s.refused(http.StatusConflict, "NOT_PAUSED", http.MethodPost, "/api/jobs/"+id+"/debug/resume", "")
}

func TestBadBreakpoints(t *testing.T) {
	s := startServer(t, "")
	s.flow(chainYAML)
	flow := "/api/flows/chain/breakpoints"
	for body, want := range map[string]string{
		`{"routine_id": "double", "condition": "data.value >"}`:  "(1:12)",
		`{"routine_id": "double", "condition": "dta.value > 1"}`: "unknown name dta (1:1)",
		`{"routine_id": "double", "condition": "1 + 2"}`:         "expected bool",
		`{"routine_id": "double", "hit_condition": "often"}`:     "hit_condition",
		`{"routine_id": "double", "log_message": "{{ }}"}`:       "log_message",
		`{"type": "slot", "routine_id": "double"}`:               "slot_name",
		`{"type": "nope", "routine_id": "double"}`:               "not one of",
		`{}`: "routine_id is required",
	} {
		if msg := s.refused(http.StatusBadRequest, "BAD_REQUEST", http.MethodPost, flow, body); !strings.Contains(msg, want) {
			t.Errorf("%s: %q lacks %q", body, msg, want)
		}
	}
	s.refused(http.StatusBadRequest, "BAD_JSON", http.MethodPost, flow, `{"routine_id": "double", "colour": "red"}`)
	for body, want := range map[string]string{
		`{"routine_id": "ghost"}`: `no routine "ghost"`,
		`{"type": "slot", "routine_id": "double", "slot_name": "nope"}`:   `no slot "nope"`,
		`{"type": "event", "routine_id": "double", "event_name": "nope"}`: `no event "nope"`,
	} {
		if msg := s.refused(http.StatusUnprocessableEntity, "UNKNOWN_TARGET", http.MethodPost, flow, body); !strings.Contains(msg, want) {
			t.Errorf("%s: %q lacks %q", body, msg, want)
		}
	}
	s.refused(http.StatusNotFound, "FLOW_NOT_FOUND", http.MethodPost, "/api/flows/ghost/breakpoints", `{"routine_id": "double"}`)
	s.refused(http.StatusNotFound, "JOB_NOT_FOUND", http.MethodPost, "/api/jobs/job_ghost/breakpoints", `{"routine_id": "double"}`)
	s.refused(http.StatusNotFound, "JOB_NOT_FOUND", http.MethodGet, "/api/jobs/job_ghost/debug/session", "")
	s.refused(http.StatusNotFound, "JOB_NOT_FOUND", http.MethodPost, "/api/jobs/job_ghost/debug/resume", "")
	done := s.start("chain", `{"value": 1}`, false)
	s.wait(done, finished)
	s.refused(http.StatusConflict, "JOB_FINISHED", http.MethodPost, "/api/jobs/"+done+"/breakpoints", `{"routine_id": "double"}`)
	s.refused(http.StatusNotFound, "BREAKPOINT_NOT_FOUND", http.MethodPut, flow+"/bp_ghost", `{"enabled": false}`)
	s.refused(http.StatusConflict, "NOT_PAUSED", http.MethodGet, "/api/jobs/"+done+"/debug/call-stack", "")
}

func TestBreakpointsSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	s.flow(itemsYAML)
	flowBP := s.addBreakpoint("/api/flows/items", `{"routine_id": "work", "condition": "data > 1", "hit_condition": ">= 100"}`)
	s.call(http.StatusOK, http.MethodPut, "/api/flows/items/breakpoints/"+flowBP.ID, `{"hit_condition": ">= 50"}`, nil)
	id := s.start("items", `{"items": [1, 2, 3]}`, false)
	s.wait(id, finished)
	s.Stop()

	s = startServer(t, dir)
	flowBPs := s.breakpoints("/api/flows/items")
	jobBPs := s.breakpoints("/api/jobs/" + id)
	if len(flowBPs) != 1 || flowBPs[0].ID != flowBP.ID {
		t.Fatalf("flow breakpoints after restart %+v", flowBPs)
	}
	if len(jobBPs) != 1 || jobBPs[0].HitCount != 2 || *jobBPs[0].InheritedFrom != flowBP.ID {
		t.Fatalf("job breakpoints after restart %+v", jobBPs)
	}
	var full struct {
		HitCondition string `json:"hit_condition"`
	}
	s.call(http.StatusOK, http.MethodPut, "/api/flows/items/breakpoints/"+flowBP.ID, `{"hit_condition": "2"}`, &full)
	if full.HitCondition != "2" {
		t.Fatalf("edited %+v", full)
	}
	again := s.start("items", `{"items": [1, 2, 3]}`, false) // still in force: stops at the 2nd match
	if j := s.wait(again, paused); j.PausedAt.RoutineID != "work" {
		t.Fatalf("paused at %+v", j.PausedAt)
	}
	s.call(http.StatusNoContent, http.MethodDelete, "/api/flows/items", "", nil)
	s.refused(http.StatusNotFound, "FLOW_NOT_FOUND", http.MethodGet, "/api/flows/items/breakpoints", "")
}

// concurrentYAML fans out to three activations of slow, which run at once.
const concurrentYAML = `flow_id: wide
execution: {strategy: concurrent, max_workers: 4}
routines:
  start: {kind: input}
  fan:   {kind: split, config: {expr: "data.items"}}
  slow:  {kind: delay, config: {ms: 30}}
  done:  {kind: output, config: {mode: append}}
connections:
  - {from: start.output, to: fan.input}
  - {from: fan.item,     to: slow.input}
  - {from: slow.output,  to: done.input}
`

func TestConcurrentHitsArePresentedOneAfterAnother(t *testing.T) {
	s := startServer(t, "")
	s.flow(concurrentYAML)
	s.addBreakpoint("/api/flows/wide", `{"type": "event", "routine_id": "slow", "event_name": "output"}`)
	id := s.start("wide", `{"items": [1, 2, 3]}`, false)
	st := &stepper{s: s, id: id}
	seen := map[int64]bool{}
	for i := range 3 {
		j := st.next()
		if seen[j.PausedAt.ActivationID] || j.PausedAt.Type != "event" {
			t.Fatalf("stop %+v (seen %v)", j.PausedAt, seen)
		}
		seen[j.PausedAt.ActivationID] = true
		// The other two reach their emit while the first is presented, and
		// wait behind it; each command presents the next at once.
		deadline := time.Now().Add(5 * time.Second)
		for {
			var sess struct {
				Status  string `json:"status"`
				PauseID string `json:"pause_id"`
				Waiting int    `json:"waiting"`
			}
			s.call(http.StatusOK, http.MethodGet, "/api/jobs/"+id+"/debug/session", "", &sess)
			if sess.Status != "paused" || sess.PauseID != st.pause {
				t.Fatalf("session %+v at stop %d", sess, i)
			}
			if sess.Waiting == 2-i {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("stop %d: %d waiting, want %d", i, sess.Waiting, 2-i)
			}
			time.Sleep(5 * time.Millisecond)
		}
		st.command("resume")
		if i < 2 && s.job(id).Status != "paused" {
			t.Fatalf("the job ran on between two waiting stops")
		}
	}
	if f := s.wait(id, finished); f.Status != "completed" || len(f.Result.([]any)) != 3 {
		t.Fatalf("final %+v", f)
	}
}

func TestStopsOnTheDebugStream(t *testing.T) {
	s := startServer(t, "")
	s.flow(chainYAML)
	s.addBreakpoint("/api/flows/chain", `{"type": "slot", "routine_id": "double", "slot_name": "input"}`)
	id := s.start("chain", `{"value": 4}`, false)
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.URL, "http")+"/api/ws/jobs/"+id+"/debug", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	next := func(typ string) map[string]any {
		t.Helper()
		for {
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			var m map[string]any
			if err := conn.ReadJSON(&m); err != nil {
				t.Fatalf("waiting for %s: %v", typ, err)
			}
			if m["type"] == typ {
				return m
			}
		}
	}
	hit := next("breakpoint_hit")
	bp, _ := hit["breakpoint"].(map[string]any)
	ctx, _ := hit["context"].(map[string]any)
	vars, _ := ctx["variables"].(map[string]any)
	if bp["type"] != "slot" || bp["routine_id"] != "double" || bp["slot_name"] != "input" || bp["breakpoint_id"] == nil ||
		ctx["routine_id"] != "double" || fmt.Sprint(vars["data"]) != "map[value:4]" || hit["seq"] == nil || hit["pause_id"] == nil {
		t.Fatalf("breakpoint_hit %v", hit)
	}
	s.call(http.StatusOK, http.MethodPut, "/api/jobs/"+id+"/debug/variables/shared.seen", `{"value": true}`, nil)
	if ch := next("variable_changed"); fmt.Sprint(ch["data"]) != "map[name:shared.seen new:true old:<nil> pause_id:"+fmt.Sprint(hit["pause_id"])+"]" {
		t.Fatalf("variable_changed %v", ch)
	}
	s.call(http.StatusOK, http.MethodPost, "/api/jobs/"+id+"/debug/step-over", "", nil)
	resumed := next("breakpoint_resumed")
	if resumed["breakpoint_id"] != bp["breakpoint_id"] || fmt.Sprint(resumed["data"]) != "map[pause_id:"+fmt.Sprint(hit["pause_id"])+" step_mode:over]" {
		t.Fatalf("breakpoint_resumed %v", resumed)
	}
	next("job_completed")
}

// Breakpoints set while jobs end: each answer is a breakpoint or "finished",
// and nothing hangs (the debugger's lock is taken with a job's lock held).
func TestBreakpointsOnJobsEndingMeanwhile(t *testing.T) {
	s := startServer(t, "")
	s.flow(itemsYAML)
	var wg sync.WaitGroup
	for i := range 40 {
		id := s.start("items", fmt.Sprintf(`{"items": [%d, %d, %d]}`, i, i, i), false)
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/jobs/"+id+"/breakpoints", strings.NewReader(`{"routine_id": "done", "condition": "false"}`))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusConflict {
				t.Errorf("job %s: status %d", id, resp.StatusCode)
			}
		}()
	}
	wg.Wait()
}

// checkCallStack reads the stack at 7 join(1) of branchy: the causal chain
// back to the entry, each frame with its data and the event it emitted.
func checkCallStack(t *testing.T, s *srv, id string) {
	t.Helper()
	var cs struct {
		CallStack []struct {
			FrameIndex   int    `json:"frame_index"`
			ActivationID int64  `json:"activation_id"`
			RoutineID    string `json:"routine_id"`
			SlotName     string `json:"slot_name"`
			EventName    string `json:"event_name"`
			Data         any    `json:"data"`
		} `json:"call_stack"`
	}
	s.call(http.StatusOK, http.MethodGet, "/api/jobs/"+id+"/debug/call-stack", "", &cs)
	var got []string
	for i, f := range cs.CallStack {
		if f.FrameIndex != i {
			t.Fatalf("frame %d has index %d", i, f.FrameIndex)
		}
		got = append(got, fmt.Sprintf("%d:%s.%s>%s=%v", f.ActivationID, f.RoutineID, f.SlotName, f.EventName, f.Data))
	}
	want := "7:join.input>=1 5:small.input>output=1 3:route.input>small=1 2:fan.input>item=map[items:[1 5]] 1:start.trigger>output=map[items:[1 5]]"
	if strings.Join(got, " ") != want {
		t.Fatalf("call stack\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	var vars struct {
		Data    any            `json:"data"`
		Routine map[string]any `json:"routine"`
	}
	s.call(http.StatusOK, http.MethodGet, "/api/jobs/"+id+"/debug/variables?frame_index=3", "", &vars)
	if fmt.Sprint(vars.Data) != "map[items:[1 5]]" || vars.Routine["kind"] != "split" {
		t.Fatalf("variables of frame 3: %+v", vars)
	}
	var r struct {
		Result any    `json:"result"`
		Error  string `json:"error"`
	}
	s.call(http.StatusOK, http.MethodPost, "/api/jobs/"+id+"/debug/evaluate", `{"expression": "len(data.items) + 1", "frame_index": 3}`, &r)
	if r.Result != 3.0 || r.Error != "" {
		t.Fatalf("evaluate in frame 3: %+v", r)
	}
	s.call(http.StatusOK, http.MethodPost, "/api/jobs/"+id+"/debug/evaluate", `{"expression": "1", "frame_index": 9}`, &r)
	if !strings.Contains(r.Error, "out of range") {
		t.Fatalf("evaluate in frame 9: %+v", r)
	}
}

// After a job ends its breakpoints are read from what was stored and from
// its job_started record: copies that never matched, edited and deleted
// ones come back as they were.
func TestBreakpointsOfAFinishedJob(t *testing.T) {
	s := startServer(t, "")
	s.flow(itemsYAML)
	never := s.addBreakpoint("/api/flows/items", `{"routine_id": "work", "condition": "data > 100"}`)
	edited := s.addBreakpoint("/api/flows/items", `{"routine_id": "done", "condition": "false"}`)
	dropped := s.addBreakpoint("/api/flows/items", `{"routine_id": "fan", "condition": "false"}`)
	id := s.start("items", `{"items": [1, 2]}`, true)
	s.wait(id, paused)
	copies := map[string]breakpoint{}
	for _, bp := range s.breakpoints("/api/jobs/" + id) {
		copies[*bp.InheritedFrom] = bp
	}
	s.call(http.StatusOK, http.MethodPut, "/api/jobs/"+id+"/breakpoints/"+copies[edited.ID].ID, `{"enabled": false}`, nil)
	s.call(http.StatusNoContent, http.MethodDelete, "/api/jobs/"+id+"/breakpoints/"+copies[dropped.ID].ID, "", nil)
	own := s.addBreakpoint("/api/jobs/"+id, `{"routine_id": "work", "log_message": "saw {{ data }}"}`)
	s.call(http.StatusOK, http.MethodPost, "/api/jobs/"+id+"/debug/resume", "", nil)
	s.wait(id, finished)

	got := s.breakpoints("/api/jobs/" + id)
	var summary []string
	for _, bp := range got {
		from := "-"
		if bp.InheritedFrom != nil {
			from = *bp.InheritedFrom
		}
		summary = append(summary, fmt.Sprintf("%s:%s:%v:%d", bp.ID, from, bp.Enabled, bp.HitCount))
	}
	want := []string{
		fmt.Sprintf("%s:%s:true:0", copies[never.ID].ID, never.ID),
		fmt.Sprintf("%s:%s:false:0", copies[edited.ID].ID, edited.ID),
		fmt.Sprintf("%s:-:true:2", own.ID),
	}
	if strings.Join(summary, " ") != strings.Join(want, " ") {
		t.Fatalf("breakpoints of the finished job\n got %v\nwant %v", summary, want)
	}
}

// A job held at an event breakpoint (inside its running activation) is
// cancelled at once, and a server shutting down does not wait for a stop.
func TestCancelAndShutdownAtAnEventBreakpoint(t *testing.T) {
	s := startServer(t, "")
	s.flow(chainYAML)
	s.addBreakpoint("/api/flows/chain", `{"type": "event", "routine_id": "double", "event_name": "output"}`)
	id := s.start("chain", `{"value": 1}`, false)
	s.wait(id, paused)
	var j job
	s.call(http.StatusOK, http.MethodPost, "/api/jobs/"+id+"/cancel", "", &j)
	if j.Status != "cancelled" {
		t.Fatalf("after cancel: %+v", j)
	}
	held := s.start("chain", `{"value": 2}`, false)
	s.wait(held, paused)
	start := time.Now()
	s.Stop()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shutting down took %s with a job stopped in the debugger", d)
	}
}
