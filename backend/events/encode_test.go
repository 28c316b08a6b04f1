package events

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
)

// plain is Event without its MarshalJSON, to compare with encoding/json.
type plain Event

func TestEncoderMatchesEncodingJSON(t *testing.T) {
	evs := []Event{
		{Seq: 1, Type: JobStarted, JobID: "job_1", FlowID: "f", Time: time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC),
			Data: map[string]any{"params": map[string]any{"z": 1.0, "a": []any{"x", true, nil, 1e21, 1e-7, -0.5}}, "entry_routine": "start"}},
		{Seq: 42, Type: RoutineFailed, JobID: "job_1", Time: time.Unix(0, 0).UTC(), RoutineID: "r", ActivationID: 7, ParentID: 3,
			Slot: "input", Error: "bad <html> & \"quotes\"\n\t\u2028 \x01", ErrorType: "*errors.errorString", Duration: 0.000123, Attempt: 2,
			Progress: 0.25, Status: "retrying"},
		{Seq: 3, Type: Log, JobID: "j", Time: time.Unix(1700000000, 123456789).UTC(), Level: "info", Message: "héllo \xff wörld", Emitted: 3},
	}
	for _, ev := range evs {
		got, _ := ev.MarshalJSON()
		want, err := json.Marshal(plain(ev))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("encoder differs:\n got %s\nwant %s", got, want)
		}
		var back Event
		if err := json.Unmarshal(got, &back); err != nil || back.Seq != ev.Seq || back.Type != ev.Type || back.Error != ev.Error && ev.Error != "" {
			t.Errorf("round trip: %v %+v", err, back)
		}
	}
}

func TestStoredFormOmitsIDs(t *testing.T) {
	for typ, wantFlow := range map[string]bool{Log: false, JobStarted: true} {
		ev := Event{Seq: 1, Type: typ, JobID: "job_9", FlowID: "flow_9", Time: time.Unix(0, 0)}
		var m map[string]any
		if err := json.Unmarshal(ev.AppendStored(nil), &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := m["job_id"]; ok {
			t.Fatal("stored form repeats job_id")
		}
		if _, ok := m["flow_id"]; ok != wantFlow {
			t.Fatalf("%s: flow_id stored %v, want %v", typ, ok, wantFlow)
		}
	}
}

func TestAppendValueOddValues(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{math.NaN(), "null"},
		{map[string]any{"a": math.Inf(1)}, `{"a":null}`},
		{[]int{1, 2}, `[1,2]`},
		{"x", `"x"`},
		{struct{ B, A int }{2, 1}, `{"B":2,"A":1}`},
		{func() {}, `null`},
		{map[string]any{"k": []any{map[string]any{"n": -1.0}}}, `{"k":[{"n":-1}]}`},
	}
	for _, tc := range cases {
		if got := string(AppendValue(nil, tc.v)); got != tc.want {
			t.Errorf("AppendValue(%#v) = %s, want %s", tc.v, got, tc.want)
		}
	}
	var round any
	if err := json.Unmarshal(AppendValue(nil, map[string]any{"s": "\u2029"}), &round); err != nil || !reflect.DeepEqual(round, map[string]any{"s": "\u2029"}) {
		t.Fatalf("round trip: %v %v", err, round)
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("plain")
	f.Add("\x00\xff<>&\"\\\u2028")
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendValue(nil, s)
		want, _ := json.Marshal(s)
		if string(got) != string(want) {
			t.Fatalf("%q: got %s want %s", s, got, want)
		}
	})
}

func TestRoutineStatesEncodeLikeEncodingJSON(t *testing.T) {
	now := time.Date(2026, 5, 6, 7, 8, 9, 10, time.UTC)
	msg := "it broke"
	states := map[string]*RoutineState{
		"b": {Status: StateFailed, Error: &msg, StartedAt: &now, CompletedAt: &now, Activations: 2, Output: map[string]any{"x": 1.0}},
		"a": {Status: StatePending},
	}
	want, _ := json.Marshal(states)
	if got := AppendRoutineStates(nil, states); string(got) != string(want) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestAppendJobStateIsWhatEncodingJSONWrites(t *testing.T) {
	now := time.Date(2026, 12, 2, 1, 2, 3, 456789000, time.UTC)
	local := now.In(time.FixedZone("x", 3600))
	errText := "boom <&>"
	bp := "bp_1"
	slot := "input"
	for _, js := range []JobState{
		{JobID: "job_1", FlowID: "f", Status: StatusPending, CreatedAt: now},
		{JobID: "job_2", FlowID: "f", FlowVersion: 3, Status: StatusPaused, PauseRequested: true, PauseReason: PauseBreakpoint,
			PausedAt:       &PausedAt{BreakpointID: &bp, Type: "slot", ActivationID: 4, RoutineID: "a", SlotName: &slot, PauseID: "pause_1"},
			EntryRoutineID: "start", Params: map[string]any{"v": 1.5, "s": "<x>", "l": []any{nil, true}}, Result: []any{1.0, "two"},
			Error: "", CreatedAt: local, StartedAt: &now, Progress: 0.25, CurrentNode: "a", NodesCompleted: 2, NodesFailed: 1,
			Duration: 1e-7, Activations: 12, Events: 40, RoutineStates: map[string]*RoutineState{
				"a": {Status: StateRunning, Output: map[string]any{"k": "v"}, StartedAt: &now, Activations: 2, Emitted: map[string]int{"out": 2, "err": 1}},
				"b": {Status: StateFailed, Error: &errText, CompletedAt: &local},
			}},
		{JobID: "job_3", FlowID: "f", Status: StatusCompleted, Result: "done", CreatedAt: now, CompletedAt: &now, Progress: 1, Duration: 12345678.5},
	} {
		want, err := json.Marshal(js)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendJobState(nil, &js); string(got) != string(want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

func TestFloatsEncodeLikeEncodingJSON(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1, 3, 42, -7, 1e14, 999999999999999, 1e15, -1e15, 1e20, 1e21,
		123456789012345678, 0.5, -2.25, 1e-7, 2.1e-5, 1.0 / 3, math.MaxInt64, math.MinInt64, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendValue(nil, f); string(got) != string(want) {
			t.Errorf("%v: got %s, encoding/json writes %s", f, got, want)
		}
	}
}
