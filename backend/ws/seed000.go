package ws

import (
	"time"

	"github.com/switchyard/switchyard/backend/events"
)

// seed000 turns one job's events into the messages of seed 000 ("WebSocket
// API Guide"). It is stateful (current node, progress, what each activation
// emitted), so each stream of a job has its own.
type seed000 struct {
	current  string
	progress float64
	started  map[int64]time.Time // activation → start
	outputs  map[int64]any       // activation → last emitted data
	// emits counts an activation's emits by event, as seen on this stream;
	// its ending node_update carries them ("emitted"), so a client adds them
	// to counts it read over REST up to the stream's since.
	emits map[int64]map[string]int
}

func newSeed000() *seed000 {
	return &seed000{started: map[int64]time.Time{}, outputs: map[int64]any{}, emits: map[int64]map[string]int{}}
}

func (e *seed000) encode(ev *events.Event) []frame {
	if ev.Progress != 0 {
		e.progress = ev.Progress
	}
	ts := epochSeconds(ev.Time)
	msg := func(typ string, o obj) frame {
		head := obj{{"type", typ}, {"execution_id", ev.JobID}}
		tail := obj{{"timestamp", ts}, {"seq", ev.Seq}}
		return frame{jobID: ev.JobID, seq: ev.Seq, typ: typ, event: true, data: append(append(head, o...), tail...).json()}
	}
	status := func(s, state string) frame {
		data := obj{{"progress", e.progress}, {"current_node", nilIfEmpty(e.current)}}
		if state != "" {
			data = append(data, kv{"state", state})
		}
		return msg("status", obj{{"status", s}, {"data", data}})
	}
	node := func(status string, output, errText any, completed any) frame {
		started := any(nil)
		if t, ok := e.started[ev.ActivationID]; ok {
			started = epochSeconds(t)
		}
		state := obj{
			{"status", status}, {"output", output}, {"error", errText},
			{"started_at", started}, {"completed_at", completed},
		}
		if n := e.emits[ev.ActivationID]; len(n) > 0 && completed != nil {
			state = append(state, kv{"emitted", n})
		}
		return msg("node_update", obj{{"node_id", ev.RoutineID}, {"node_state", state}})
	}
	switch ev.Type {
	case events.JobStarted:
		if entry, ok := field(ev.Data, "entry_routine").(string); ok {
			e.current = entry // the first node to run
		}
		return []frame{status("running", "")}
	case events.RoutineStarted:
		e.current = ev.RoutineID
		e.started[ev.ActivationID] = ev.Time
		return []frame{node("running", nil, nil, nil)}
	case events.EventEmit:
		e.outputs[ev.ActivationID] = ev.Data
		n := e.emits[ev.ActivationID]
		if n == nil {
			n = map[string]int{}
			e.emits[ev.ActivationID] = n
		}
		n[ev.Event]++
		return nil
	case events.RoutineCompleted:
		out := e.outputs[ev.ActivationID]
		if ev.Data != nil {
			out = ev.Data
		}
		f := node("completed", out, nil, ts)
		e.forget(ev.ActivationID)
		return []frame{f, status("running", "")}
	case events.RoutineFailed:
		if ev.Status == "retrying" {
			return nil
		}
		f := node("failed", nil, ev.Error, ts)
		e.forget(ev.ActivationID)
		return []frame{f}
	case events.Log:
		return []frame{msg("log", obj{{"log", obj{
			{"level", ev.Level}, {"message", ev.Message}, {"node_id", nilIfEmpty(ev.RoutineID)}, {"timestamp", ts},
		}}})}
	case events.JobPaused:
		return []frame{status("running", "paused")}
	case events.JobResumed:
		return []frame{status("running", "running")}
	case events.JobCompleted:
		e.progress = 1
		return []frame{status("completed", ""), msg("completion", obj{{"result", obj{
			{"status", "completed"}, {"output", field(ev.Data, "result")},
			{"nodes_completed", num(field(ev.Data, "nodes_completed"))},
			{"nodes_failed", num(field(ev.Data, "nodes_failed"))},
			{"duration", ev.Duration},
		}}})}
	case events.JobFailed:
		return []frame{status("failed", ""), msg("error", obj{{"error", ev.Error}})}
	case events.JobCancelled:
		return []frame{status("failed", "cancelled"), msg("error", obj{{"error", "Job cancelled"}})}
	}
	return nil
}

func (e *seed000) forget(activation int64) {
	delete(e.started, activation)
	delete(e.outputs, activation)
	delete(e.emits, activation)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
