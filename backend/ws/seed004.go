package ws

import (
	"strconv"
	"time"

	"github.com/switchyard/switchyard/backend/events"
)

// seed004 turns one job's events into the messages of seed 004 ("WebSocket
// Events"), and keeps the job's metrics.
type seed004 struct {
	metrics metrics
}

type metrics struct {
	start, end       time.Time
	events           int64
	slotCalls, emits int64
	lastSeq          int64
	ended            bool
}

func (e *seed004) encode(ev *events.Event) []frame {
	m := &e.metrics
	m.events = ev.Seq // seq is gap-free from 1
	m.lastSeq = ev.Seq
	ts := iso(ev.Time)
	msg := func(typ string, o obj) frame {
		head := obj{{"type", typ}, {"job_id", ev.JobID}}
		return frame{jobID: ev.JobID, seq: ev.Seq, typ: typ, event: true,
			data: append(append(head, o...), kv{"timestamp", ts}, kv{"seq", ev.Seq}).json()}
	}
	execEvent := func(eventType string, data obj) frame {
		return msg("execution_event", obj{{"event", obj{
			{"event_id", "evt_" + strconv.FormatInt(ev.Seq, 10)}, {"routine_id", ev.RoutineID},
			{"event_type", eventType}, {"timestamp", ts}, {"data", data},
		}}})
	}
	switch ev.Type {
	case events.JobStarted:
		m.start = ev.Time
		return []frame{msg(ev.Type, obj{{"flow_id", ev.FlowID}, {"data", obj{
			{"entry_routine", field(ev.Data, "entry_routine")}, {"params", field(ev.Data, "params")},
		}}})}
	case events.JobCompleted:
		m.end, m.ended = ev.Time, true
		return []frame{msg(ev.Type, obj{{"flow_id", ev.FlowID}, {"data", obj{
			{"duration", ev.Duration}, {"total_events", ev.Seq},
		}}}), e.metricsFrame(ev.JobID, ev.Time)}
	case events.JobFailed:
		m.end, m.ended = ev.Time, true
		return []frame{msg(ev.Type, obj{{"flow_id", ev.FlowID}, {"data", obj{
			{"error", ev.Error}, {"error_type", field(ev.Data, "error_type")}, {"routine_id", nilIfEmpty(ev.RoutineID)},
		}}}), e.metricsFrame(ev.JobID, ev.Time)}
	case events.JobCancelled:
		m.end, m.ended = ev.Time, true
		return []frame{msg(ev.Type, obj{{"data", obj{{"reason", field(ev.Data, "reason")}}}}), e.metricsFrame(ev.JobID, ev.Time)}
	case events.JobPaused:
		return []frame{msg(ev.Type, obj{{"data", obj{{"reason", field(ev.Data, "reason")}}}})}
	case events.JobResumed:
		return []frame{msg(ev.Type, nil)}
	case events.RoutineStarted:
		m.slotCalls++
		return []frame{
			msg(ev.Type, obj{{"routine_id", ev.RoutineID}, {"data", obj{{"slot_name", ev.Slot}, {"event_data", ev.Data}}}}),
			execEvent("slot_call", obj{{"slot_name", ev.Slot}, {"arguments", ev.Data}}),
		}
	case events.EventEmit:
		m.emits++
		return []frame{execEvent("event_emit", obj{{"event_name", ev.Event}, {"event_data", ev.Data}})}
	case events.RoutineCompleted:
		return []frame{msg(ev.Type, obj{{"routine_id", ev.RoutineID}, {"data", obj{
			{"duration", ev.Duration}, {"events_emitted", ev.Emitted},
		}}})}
	case events.RoutineFailed:
		data := obj{{"error", ev.Error}, {"error_type", ev.ErrorType}, {"slot_name", ev.Slot}}
		if ev.Status == "retrying" {
			data = append(data, kv{"attempt", ev.Attempt}, kv{"retrying", true})
		}
		return []frame{msg(ev.Type, obj{{"routine_id", ev.RoutineID}, {"data", data}}), execEvent("error", data)}
	case events.BreakpointHit:
		bp, _ := field(ev.Data, "breakpoint").(map[string]any)
		return []frame{msg(ev.Type, obj{
			{"breakpoint", obj{
				{"breakpoint_id", bp["breakpoint_id"]}, {"type", bp["type"]}, {"routine_id", bp["routine_id"]},
				{"slot_name", bp["slot_name"]}, {"event_name", bp["event_name"]},
			}},
			{"context", obj{{"routine_id", ev.RoutineID}, {"variables", field(ev.Data, "variables")}}},
			{"pause_id", field(ev.Data, "pause_id")}, {"paused_at", field(ev.Data, "paused_at")},
		})}
	case events.BreakpointResumed:
		return []frame{msg(ev.Type, obj{
			{"breakpoint_id", field(ev.Data, "breakpoint_id")},
			{"data", obj{{"step_mode", field(ev.Data, "step_mode")}, {"pause_id", field(ev.Data, "pause_id")}}},
		})}
	case events.VariableChanged: // debug endpoint only, as log
		return []frame{msg(ev.Type, obj{{"routine_id", ev.RoutineID}, {"data", obj{
			{"name", field(ev.Data, "name")}, {"old", field(ev.Data, "old")}, {"new", field(ev.Data, "new")},
			{"pause_id", field(ev.Data, "pause_id")},
		}}})}
	case events.Log: // only the debug endpoint's clients get these (see client.wants)
		return []frame{msg("log", obj{{"routine_id", nilIfEmpty(ev.RoutineID)}, {"level", ev.Level}, {"message", ev.Message}})}
	}
	return nil
}

// metricsFrame is the job's metrics message as of now.
func (e *seed004) metricsFrame(jobID string, now time.Time) frame {
	m := &e.metrics
	var start, end any
	if !m.start.IsZero() {
		start = iso(m.start)
	}
	dur := 0.0
	if m.ended {
		end = iso(m.end)
		dur = m.end.Sub(m.start).Seconds()
	} else if !m.start.IsZero() {
		dur = now.Sub(m.start).Seconds()
	}
	return frame{jobID: jobID, seq: m.lastSeq, typ: "metrics", data: obj{
		{"type", "metrics"}, {"job_id", jobID}, {"timestamp", iso(now)},
		{"metrics", obj{
			{"start_time", start}, {"end_time", end}, {"duration", dur},
			{"total_events", m.events}, {"total_slot_calls", m.slotCalls}, {"total_event_emits", m.emits},
		}},
		{"seq", m.lastSeq},
	}.json()}
}
