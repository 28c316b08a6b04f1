package ws

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/events"
)

// The debugger's messages have seed 004's shape, plus the pause they
// concern (pause_id, paused_at) for clients that step.
func TestBreakpointMessagesHaveTheSeedShape(t *testing.T) {
	enc := &seed004{}
	var fb frameBuf
	at := time.Date(2025, 1, 15, 10, 31, 0, 0, time.UTC)
	enc.encode(&events.Event{Seq: 7, Type: events.BreakpointHit, JobID: "job_123", Time: at, RoutineID: "process_data",
		Data: map[string]any{
			"breakpoint": map[string]any{"breakpoint_id": "bp_abc123", "type": "routine", "routine_id": "process_data",
				"slot_name": "input", "event_name": "output"},
			"variables": map[string]any{"data": "example", "count": 42.0},
			"pause_id":  "pause_1",
			"paused_at": map[string]any{"activation_id": 3.0, "pause_id": "pause_1"},
		}}, &fb)
	hit := fb.take()
	enc.encode(&events.Event{Seq: 8, Type: events.BreakpointResumed, JobID: "job_123", Time: at,
		Data: map[string]any{"breakpoint_id": "bp_abc123", "step_mode": "over", "pause_id": "pause_1"}}, &fb)
	resumed := fb.take()
	want := []string{
		`{"type":"breakpoint_hit","job_id":"job_123","breakpoint":{"breakpoint_id":"bp_abc123","type":"routine","routine_id":"process_data","slot_name":"input","event_name":"output"},"context":{"routine_id":"process_data","variables":{"count":42,"data":"example"}},"pause_id":"pause_1","paused_at":{"activation_id":3,"pause_id":"pause_1"},"timestamp":"2025-01-15T10:31:00Z","seq":7,"pos":"7.1"}`,
		`{"type":"breakpoint_resumed","job_id":"job_123","breakpoint_id":"bp_abc123","data":{"step_mode":"over","pause_id":"pause_1"},"timestamp":"2025-01-15T10:31:00Z","seq":8,"pos":"8.1"}`,
	}
	for i, frames := range [][]frame{hit, resumed} {
		if len(frames) != 1 || string(frames[0].data) != want[i] {
			t.Fatalf("got %s\nwant %s", frames[0].data, want[i])
		}
		var m map[string]any
		if err := json.Unmarshal(frames[0].data, &m); err != nil {
			t.Fatal(err)
		}
	}
}
