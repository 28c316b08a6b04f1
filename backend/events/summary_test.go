package events

import (
	"encoding/json"
	"testing"
)

func TestSummaryAppendJSONIsWhatEncodingJSONWrites(t *testing.T) {
	s := NewSummary(1)
	for i, ev := range []*Event{
		{Type: JobStarted},
		{Type: RoutineStarted, RoutineID: "a"},
		{Type: EventEmit, RoutineID: "a"},
		{Type: RoutineCompleted, RoutineID: "a", Duration: 0.000000125},
		{Type: RoutineStarted, RoutineID: "b\"<"},
		{Type: RoutineFailed, RoutineID: "b\"<", Status: "retrying", Duration: 1.5},
		{Type: RoutineFailed, RoutineID: "b\"<", Duration: 2e21},
		{Type: JobFailed},
	} {
		ev.Seq = int64(i + 1)
		s.Add(ev)
	}
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.AppendJSON(nil); string(got) != string(want) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	var back Summary
	if err := json.Unmarshal(s.AppendJSON(nil), &back); err != nil || back.Routines["a"].Completed != 1 || back.Seq != 8 {
		t.Fatalf("decoded %+v %v", back, err)
	}
	if empty := NewSummary(1); string(empty.AppendJSON(nil)) != `{"first_seq":1,"seq":0,"events_by_type":{},"routines":{}}` {
		t.Fatalf("empty: %s", empty.AppendJSON(nil))
	}
}
