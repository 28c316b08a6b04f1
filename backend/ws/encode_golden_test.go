package ws

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/events"
)

var update = flag.Bool("update", false, "rewrite testdata/encode_golden.txt from the encoders")

// goldenJobs are event logs covering every type and ending, with values
// that need escaping, nulls, nested data and numbers of several forms.
func goldenJobs() [][]events.Event {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 123456789, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	head := func(job string) []events.Event {
		return []events.Event{
			{Seq: 1, Type: events.JobStarted, JobID: job, FlowID: "f<1>", Time: at(0), Data: map[string]any{"entry_routine": "start", "params": map[string]any{"n": 2.5, "s": "a\"b\n\u2028", "list": []any{1.0, nil, true}}}},
			{Seq: 2, Type: events.RoutineStarted, JobID: job, Time: at(1), RoutineID: "start", ActivationID: 1, Slot: "trigger", Data: map[string]any{"n": 2.5}},
			{Seq: 3, Type: events.EventEmit, JobID: job, Time: at(2), RoutineID: "start", ActivationID: 1, Event: "output", Data: map[string]any{"value": 1e21, "tiny": 1e-7, "big": 12345678.0}, Targets: 1},
			{Seq: 4, Type: events.RoutineCompleted, JobID: job, Time: at(3), RoutineID: "start", ActivationID: 1, Duration: 0.002, Emitted: 1, Progress: 0.25},
			{Seq: 5, Type: events.RoutineStarted, JobID: job, Time: at(4), RoutineID: "work & co", ActivationID: 2, ParentID: 1, Slot: "input", Data: map[string]any{"value": 1.0}},
			{Seq: 6, Type: events.Log, JobID: job, Time: at(5), RoutineID: "work & co", ActivationID: 2, Level: "warning", Message: "héllo <b>\t\"x\""},
			{Seq: 7, Type: events.RoutineFailed, JobID: job, Time: at(6), RoutineID: "work & co", ActivationID: 2, Slot: "input", Status: "retrying", Error: "boom", ErrorType: "RuntimeError", Attempt: 1, Duration: 0.001},
			{Seq: 8, Type: events.JobPaused, JobID: job, FlowID: "f<1>", Time: at(7), Data: map[string]any{"reason": "api", "pause_reason": "api"}},
			{Seq: 9, Type: events.JobResumed, JobID: job, FlowID: "f<1>", Time: at(8)},
			{Seq: 10, Type: events.BreakpointHit, JobID: job, Time: at(9), RoutineID: "work & co", ActivationID: 2, Data: map[string]any{
				"breakpoint": map[string]any{"breakpoint_id": "bp_1", "type": "routine", "routine_id": "work & co", "slot_name": nil, "event_name": nil},
				"variables":  map[string]any{"data": map[string]any{"value": 1.0}}, "pause_id": "p1", "paused_at": "2024-01-01T00:00:00Z"}},
			{Seq: 11, Type: events.VariableChanged, JobID: job, Time: at(10), RoutineID: "work & co", Data: map[string]any{"name": "data.value", "old": 1.0, "new": 2.0, "pause_id": "p1"}},
			{Seq: 12, Type: events.BreakpointResumed, JobID: job, Time: at(11), RoutineID: "work & co", Data: map[string]any{"breakpoint_id": "bp_1", "step_mode": "over", "pause_id": "p1"}},
			{Seq: 13, Type: events.EventEmit, JobID: job, Time: at(12), RoutineID: "work & co", ActivationID: 2, Event: "output", Data: map[string]any{"value": 2.0}},
			{Seq: 14, Type: events.EventEmit, JobID: job, Time: at(13), RoutineID: "work & co", ActivationID: 2, Event: "output", Data: "last"},
			{Seq: 15, Type: events.RoutineCompleted, JobID: job, Time: at(14), RoutineID: "work & co", ActivationID: 2, Duration: 0.01, Emitted: 2, Progress: 0.5},
			{Seq: 16, Type: events.RoutineStarted, JobID: job, Time: at(15), RoutineID: "done", ActivationID: 3, Slot: "input", Data: nil},
			{Seq: 17, Type: events.RoutineCompleted, JobID: job, Time: at(16), RoutineID: "done", ActivationID: 3, Data: map[string]any{"total": 3.0}, ResultMode: "last", Progress: 0.75},
			{Seq: 18, Type: events.SharedSet, JobID: job, Time: at(17), RoutineID: "done", Data: map[string]any{"key": "k", "value": 1.0}},
			{Seq: 19, Type: events.RoutineStarted, JobID: job, Time: at(18), RoutineID: "bad", ActivationID: 4, Slot: "input", Data: []any{"x"}},
			{Seq: 20, Type: events.RoutineFailed, JobID: job, Time: at(19), RoutineID: "bad", ActivationID: 4, Slot: "input", Status: "failed", Error: "bad \"input\"", ErrorType: "ValueError", Duration: 0.003, Progress: 1},
		}
	}
	completed := append(head("job_c"), events.Event{Seq: 21, Type: events.JobCompleted, JobID: "job_c", FlowID: "f<1>", Time: at(20), Status: "completed", Duration: 0.02,
		Data: map[string]any{"result": map[string]any{"total": 3.0}, "nodes_completed": 3.0, "nodes_failed": 1.0}, Progress: 1})
	failed := append(head("job_f"), events.Event{Seq: 21, Type: events.JobFailed, JobID: "job_f", FlowID: "f<1>", Time: at(20), Status: "failed", Duration: 0.02,
		RoutineID: "bad", Error: "routine bad failed", Data: map[string]any{"error_type": "ValueError"}})
	cancelled := append(head("job_x"), events.Event{Seq: 21, Type: events.JobCancelled, JobID: "job_x", FlowID: "f<1>", Time: at(20), Status: "cancelled", Duration: 0.02,
		Data: map[string]any{"reason": "Cancelled via API"}})
	return [][]events.Event{completed, failed, cancelled}
}

// goldenText encodes the golden jobs with both protocols, one frame a line.
func goldenText(strip bool) string {
	var b strings.Builder
	for _, job := range goldenJobs() {
		s000, s004 := newSeed000(), &seed004{}
		var fb frameBuf
		for i := range job {
			ev := &job[i]
			s000.encode(ev, &fb)
			for _, f := range fb.take() {
				fmt.Fprintf(&b, "000 %s %s\n", f.typ, cleanData(f.data, strip))
			}
			s004.encode(ev, &fb)
			for _, f := range fb.take() {
				fmt.Fprintf(&b, "004 %s %s\n", f.typ, cleanData(f.data, strip))
			}
		}
		f := s004.metricsFrame(job[0].JobID, job[len(job)-1].Time.Add(time.Second))
		fmt.Fprintf(&b, "004 %s %s\n", f.typ, cleanData(f.data, strip))
	}
	return b.String()
}

var posField = regexp.MustCompile(`,"pos":"[0-9.]+"`)

// cleanData checks a frame is one JSON object and, with strip, removes its
// pos (the golden file predates positions).
func cleanData(data []byte, strip bool) string {
	if !json.Valid(data) || !bytes.HasPrefix(data, []byte("{")) {
		return "INVALID " + string(data)
	}
	if strip {
		return posField.ReplaceAllString(string(data), "")
	}
	return string(data)
}

// TestEncodersMatchGolden: the messages are byte for byte what the seed
// clients have been getting (testdata/encode_golden.txt, written by the
// encoders before positions were added), plus pos.
func TestEncodersMatchGolden(t *testing.T) {
	const path = "testdata/encode_golden.txt"
	if *update {
		if err := os.WriteFile(path, []byte(goldenText(true)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := goldenText(true)
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("line %d differs:\n got %s\nwant %s", i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%d lines, want %d", len(gl), len(wl))
	}
}
