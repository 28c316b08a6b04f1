package events

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// DecodeStored reads what AppendStored wrote as encoding/json does, with
// Data kept raw: the bytes AppendValue writes for the decoded value.
func TestDecodeStoredMatchesEncodingJSON(t *testing.T) {
	t0 := time.Date(2024, 2, 29, 23, 59, 58, 120000000, time.UTC)
	list := []Event{
		{Seq: 1, Type: JobStarted, JobID: "j", FlowID: "f", Time: t0, Data: map[string]any{"entry_routine": "a", "params": map[string]any{"x": []any{1.0, "s\"\\", nil}}}},
		{Seq: 2, Type: RoutineStarted, JobID: "j", Time: t0.Add(time.Nanosecond), RoutineID: "a", ActivationID: 3, ParentID: 2, Slot: "in", Data: "text\n\u2028"},
		{Seq: 3, Type: EventEmit, JobID: "j", Time: t0.Add(time.Second), RoutineID: "a", ActivationID: 3, Event: "out", Data: 1e-9, Targets: 2},
		{Seq: 4, Type: Log, JobID: "j", Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), RoutineID: "a", Level: "info", Message: `say "hi" \ <b>`},
		{Seq: 5, Type: RoutineFailed, JobID: "j", Time: t0, RoutineID: "a", Status: "retrying", Error: "é\tboom", ErrorType: "E", Attempt: 2, Duration: 0.25},
		{Seq: 6, Type: RoutineCompleted, JobID: "j", Time: t0, RoutineID: "a", ActivationID: 3, Emitted: 4, ResultMode: "append", State: map[string]any{"k": []any{true}}, Progress: 0.5, Duration: 1.5},
		{Seq: 123456789012, Type: JobCompleted, JobID: "j", FlowID: "f", Time: t0, Status: "completed", Data: map[string]any{"result": nil, "nodes_completed": 2.0}, Duration: 3},
	}
	var names Names
	for _, ev := range list {
		line := ev.AppendStored(nil)
		var want Event
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatal(err)
		}
		want.JobID = "j"
		var got Event
		if err := DecodeStored(line, "j", &got, &names); err != nil {
			t.Fatal(err)
		}
		raw, isRaw := got.Data.(json.RawMessage)
		if ev.Data != nil && !isRaw {
			t.Fatalf("seq %d: data %T, want raw", ev.Seq, got.Data)
		}
		if isRaw {
			if string(AppendValue(nil, want.Data)) != string(raw) {
				t.Fatalf("seq %d: raw data %s, encoded %s", ev.Seq, raw, AppendValue(nil, want.Data))
			}
			got.Data = want.Data
		}
		if !got.Time.Equal(want.Time) || got.Time.Location() != time.UTC {
			t.Fatalf("seq %d: time %v, want %v", ev.Seq, got.Time, want.Time)
		}
		got.Time = want.Time
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("seq %d:\n got %+v\nwant %+v", ev.Seq, got, want)
		}
	}
}

func TestDecodeStoredOddLines(t *testing.T) {
	var names Names
	var ev Event
	// Escaped keys, spaces and another time form take the general path.
	for _, line := range []string{
		`{"seq":7,"type":"log","time":"2024-01-01T01:00:00+01:00","message":"m"}`,
		`{ "seq" : 7 , "type" : "log" , "time" : "2024-01-01T00:00:00Z" , "message" : "m" }`,
		`{"seq":7,"typ\u0065":"log","time":"2024-01-01T00:00:00Z","message":"m"}`,
	} {
		if err := DecodeStored([]byte(line), "j", &ev, &names); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if ev.Seq != 7 || ev.Type != "log" || ev.Message != "m" || ev.JobID != "j" || !ev.Time.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("%s: %+v", line, ev)
		}
	}
	if err := DecodeStored([]byte(`{"seq":`), "j", &ev, &names); err == nil {
		t.Fatal("want an error for a broken line")
	}
}

func BenchmarkDecodeStored(b *testing.B) {
	ev := Event{Seq: 12345, Type: EventEmit, Time: time.Now(), RoutineID: "transform", ActivationID: 777, Event: "output", Data: map[string]any{"value": 42.0, "name": "x"}, Targets: 1}
	line := ev.AppendStored(nil)
	var names Names
	var out Event
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeStored(line, "j", &out, &names); err != nil {
			b.Fatal(err)
		}
	}
}
