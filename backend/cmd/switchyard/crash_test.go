package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The flows of the crash test, with what each job of them must end as.
var crashFlows = map[string]string{
	"crash-chain": `flow_id: crash-chain
routines:
  start: {kind: input}
  d1:    {kind: delay, config: {ms: 120}}
  inc:   {kind: transform, config: {expr: "{v: data.v + 1}"}}
  d2:    {kind: delay, config: {ms: 120}}
  done:  {kind: output}
connections:
  - {from: start.output, to: d1.input}
  - {from: d1.output, to: inc.input}
  - {from: inc.output, to: d2.input}
  - {from: d2.output, to: done.input}
`,
	"crash-merge": `flow_id: crash-merge
routines:
  start:  {kind: input}
  double: {kind: transform, config: {expr: "{a: data.v * 2}"}}
  wait:   {kind: delay, config: {ms: 150}}
  triple: {kind: transform, config: {expr: "{b: data.v * 3}"}}
  join:   {kind: merge}
  done:   {kind: output}
connections:
  - {from: start.output, to: double.input}
  - {from: start.output, to: wait.input}
  - {from: wait.output, to: triple.input}
  - {from: double.output, to: join.input}
  - {from: triple.output, to: join.input}
  - {from: join.output, to: done.input}
`,
	"crash-split": `flow_id: crash-split
execution: {strategy: concurrent, max_workers: 3}
routines:
  start: {kind: input}
  split: {kind: split, config: {expr: "data.items"}}
  wait:  {kind: delay, config: {ms: 60}}
  times: {kind: transform, config: {expr: "data * 10"}}
  done:  {kind: output, config: {mode: append}}
connections:
  - {from: start.output, to: split.input}
  - {from: split.item, to: wait.input}
  - {from: wait.output, to: times.input}
  - {from: times.output, to: done.input}
`,
	"crash-retry": `flow_id: crash-retry
routines:
  start: {kind: input}
  wait:  {kind: delay, config: {ms: 80}}
  flaky: {kind: fail, config: {message: "down for {{ data.v }}"}, error_policy: {strategy: retry, max_retries: 2, retry_delay: 100ms}}
connections:
  - {from: start.output, to: wait.input}
  - {from: wait.output, to: flaky.input}
`,
}

type crashJob struct {
	id, flow string
	v        int
}

// params and the end a job of each flow must reach.
func (j crashJob) params() string {
	if j.flow == "crash-split" {
		return fmt.Sprintf(`{"items": [%d, %d, %d]}`, j.v, j.v+1, j.v+2)
	}
	return fmt.Sprintf(`{"v": %d}`, j.v)
}

func (j crashJob) check(status, errText string, result any) error {
	want := map[string]any{
		"crash-chain": map[string]any{"v": float64(j.v + 1)},
		"crash-merge": map[string]any{"a": float64(2 * j.v), "b": float64(3 * j.v)},
		"crash-split": []any{float64(10 * j.v), float64(10 * (j.v + 1)), float64(10 * (j.v + 2))},
	}[j.flow]
	if j.flow == "crash-retry" {
		if status != "failed" || !strings.Contains(errText, fmt.Sprintf("down for %d", j.v)) {
			return fmt.Errorf("%s %q, want failed with down for %d", status, errText, j.v)
		}
		return nil
	}
	if list, ok := result.([]any); ok { // concurrent: any order
		slices.SortFunc(list, func(a, b any) int { return int(a.(float64) - b.(float64)) })
	}
	if status != "completed" || !reflect.DeepEqual(result, want) {
		return fmt.Errorf("%s %q result %v, want completed with %v", status, errText, result, want)
	}
	return nil
}

// TestCrashRoundsContinueEveryJob kills the real binary (SIGKILL) at random
// moments while jobs of mixed flows run (delays, a merge, a concurrent
// split, retries, one paused), and restarts it: every acknowledged job ends
// as its flow defines, with a gap-free log ending in a terminal event, and no
// activation that had completed completes again. SWITCHYARD_CRASH_ROUNDS
// sets the number of rounds (5).
func TestCrashRoundsContinueEveryJob(t *testing.T) {
	rounds := 5
	if s := os.Getenv("SWITCHYARD_CRASH_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("SWITCHYARD_CRASH_ROUNDS=%q: want a positive number", s)
		}
		rounds = n
	}
	bin := binary(t)
	data := t.TempDir()
	cmd, url := serveProcess(t, bin, data)
	for _, yaml := range crashFlows {
		if code := send(t, "POST", url+"/api/flows", "application/yaml", yaml, nil); code != http.StatusCreated {
			t.Fatalf("create flow: %d", code)
		}
	}
	names := []string{"crash-chain", "crash-merge", "crash-split", "crash-retry"}
	rng := rand.New(rand.NewPCG(1, 2))
	var jobs []crashJob
	var paused string
	for round := 0; round < rounds; round++ {
		for i := 0; i < 40; i++ {
			j := crashJob{flow: names[i%len(names)], v: len(jobs)}
			var got struct {
				JobID string `json:"job_id"`
			}
			if code := send(t, "POST", url+"/api/jobs", "application/json",
				fmt.Sprintf(`{"flow_id": %q, "params": %s}`, j.flow, j.params()), &got); code != http.StatusCreated {
				t.Fatalf("start: %d", code)
			}
			j.id = got.JobID
			jobs = append(jobs, j)
			if round == 0 && i == 0 { // the chain job that stays paused until the end
				paused = j.id
				if code := send(t, "POST", url+"/api/jobs/"+j.id+"/pause", "", "", nil); code != http.StatusOK {
					t.Fatalf("pause: %d", code)
				}
				// … with a breakpoint that must survive the crashes.
				if code := send(t, "POST", url+"/api/jobs/"+j.id+"/breakpoints", "application/json", `{"type": "routine", "routine_id": "done"}`, nil); code != http.StatusCreated {
					t.Fatalf("breakpoint: %d", code)
				}
			}
		}
		time.Sleep(time.Duration(50+rng.IntN(350)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		cmd, url = serveProcess(t, bin, data)
	}

	var p struct{ Status string }
	getJSON(t, url+"/api/jobs/"+paused, &p)
	if p.Status != "paused" {
		t.Fatalf("the paused job is %s after %d crashes", p.Status, rounds)
	}
	if code := send(t, "POST", url+"/api/jobs/"+paused+"/resume", "", "", nil); code != http.StatusOK {
		t.Fatalf("resume: %d", code)
	}
	// It runs to its breakpoint, set before the crashes, and on from there.
	var stop struct {
		Status      string `json:"status"`
		PauseReason string `json:"pause_reason"`
		PausedAt    struct {
			RoutineID string `json:"routine_id"`
		} `json:"paused_at"`
	}
	for end := time.Now().Add(20 * time.Second); stop.PauseReason != "breakpoint" && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
		getJSON(t, url+"/api/jobs/"+paused, &stop)
	}
	if stop.Status != "paused" || stop.PausedAt.RoutineID != "done" {
		t.Fatalf("the paused job did not stop at its breakpoint: %+v", stop)
	}
	if code := send(t, "POST", url+"/api/jobs/"+paused+"/debug/resume", "application/json", `{}`, nil); code != http.StatusOK {
		t.Fatalf("debug resume: %d", code)
	}
	deadline := time.Now().Add(60 * time.Second)
	continued := 0 // restarts that found a job running and continued it
	for _, j := range jobs {
		var got struct {
			Status, Error string
			Result        any
		}
		for getJSON(t, url+"/api/jobs/"+j.id, &got); (got.Status == "running" || got.Status == "pending") && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
			getJSON(t, url+"/api/jobs/"+j.id, &got)
		}
		if err := j.check(got.Status, got.Error, got.Result); err != nil {
			t.Errorf("job %s (%s): %v", j.id, j.flow, err)
			continue
		}
		var page struct {
			Events []struct {
				Seq          int64  `json:"seq"`
				Type         string `json:"type"`
				ActivationID int64  `json:"activation_id"`
				Message      string `json:"message"`
			} `json:"events"`
		}
		getJSON(t, url+"/api/jobs/"+j.id+"/events?limit=10000", &page)
		done := map[int64]bool{}
		for i, ev := range page.Events {
			if ev.Seq != int64(i+1) {
				t.Fatalf("job %s: event %d has seq %d", j.id, i+1, ev.Seq)
			}
			if ev.Type == "log" && strings.HasPrefix(ev.Message, "the server restarted") {
				continued++
			}
			if ev.Type == "routine_completed" {
				if done[ev.ActivationID] {
					t.Errorf("job %s: activation %d completed twice", j.id, ev.ActivationID)
				}
				done[ev.ActivationID] = true
			}
		}
		if n := len(page.Events); n == 0 || !strings.HasPrefix(page.Events[n-1].Type, "job_") || page.Events[n-1].Type == "job_started" {
			t.Errorf("job %s: its log does not end with its end", j.id)
		}
	}
	// The paused job alone continues at every restart; the crashes must have caught others mid-run.
	t.Logf("%d jobs, %d continuations after %d crashes", len(jobs), continued, rounds)
	if continued <= rounds {
		t.Errorf("only %d continuations: the crashes caught no running job", continued)
	}
}

// send makes a request with a body and decodes the JSON answer into out.
func send(t *testing.T, method, url, ctype, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}
