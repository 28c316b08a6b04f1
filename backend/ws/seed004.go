package ws

import (
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

// encode appends the messages of ev to fb (a job's end also yields a
// metrics message, which is not part of the event: it carries no pos).
func (e *seed004) encode(ev *events.Event, fb *frameBuf) {
	m := &e.metrics
	m.events = ev.Seq // seq is gap-free from 1
	m.lastSeq = ev.Seq
	fb.begin(ev)
	switch ev.Type {
	case events.JobStarted:
		m.start = ev.Time
		d := dataMap(ev.Data)
		at := e.open(fb, ev.Type)
		e.flowID(fb)
		fb.raw(`,"data":{"entry_routine":`)
		fb.val(d["entry_routine"])
		fb.raw(`,"params":`)
		fb.val(d["params"])
		fb.raw(`}`)
		e.tail(fb, at, ev.Type)
	case events.JobCompleted:
		m.end, m.ended = ev.Time, true
		at := e.open(fb, ev.Type)
		e.flowID(fb)
		fb.raw(`,"data":{"duration":`)
		fb.float(ev.Duration)
		fb.raw(`,"total_events":`)
		fb.int(ev.Seq)
		fb.raw(`}`)
		e.tail(fb, at, ev.Type)
		fb.add(e.metricsFrame(ev.JobID, ev.Time))
	case events.JobFailed:
		m.end, m.ended = ev.Time, true
		d := dataMap(ev.Data)
		at := e.open(fb, ev.Type)
		e.flowID(fb)
		fb.raw(`,"data":{"error":`)
		fb.str(ev.Error)
		fb.raw(`,"error_type":`)
		fb.val(d["error_type"])
		fb.raw(`,"routine_id":`)
		fb.strOrNull(ev.RoutineID)
		fb.raw(`}`)
		e.tail(fb, at, ev.Type)
		fb.add(e.metricsFrame(ev.JobID, ev.Time))
	case events.JobCancelled:
		m.end, m.ended = ev.Time, true
		e.reason(fb)
		fb.add(e.metricsFrame(ev.JobID, ev.Time))
	case events.JobPaused:
		e.reason(fb)
	case events.JobResumed:
		e.tail(fb, e.open(fb, ev.Type), ev.Type)
	case events.RoutineStarted:
		m.slotCalls++
		at := e.open(fb, ev.Type)
		fb.raw(`,"routine_id":`)
		fb.str(ev.RoutineID)
		fb.raw(`,"data":{"slot_name":`)
		fb.str(ev.Slot)
		fb.raw(`,"event_data":`)
		fb.val(ev.Data)
		fb.raw(`}`)
		e.tail(fb, at, ev.Type)
		at = e.execEvent(fb, "slot_call")
		fb.raw(`{"slot_name":`)
		fb.str(ev.Slot)
		fb.raw(`,"arguments":`)
		fb.val(ev.Data)
		fb.raw(`}}`)
		e.tail(fb, at, "execution_event")
	case events.EventEmit:
		m.emits++
		at := e.execEvent(fb, "event_emit")
		fb.raw(`{"event_name":`)
		fb.str(ev.Event)
		fb.raw(`,"event_data":`)
		fb.val(ev.Data)
		fb.raw(`}}`)
		e.tail(fb, at, "execution_event")
	case events.RoutineCompleted:
		at := e.open(fb, ev.Type)
		fb.raw(`,"routine_id":`)
		fb.str(ev.RoutineID)
		fb.raw(`,"data":{"duration":`)
		fb.float(ev.Duration)
		fb.raw(`,"events_emitted":`)
		fb.int(int64(ev.Emitted))
		fb.raw(`}`)
		e.tail(fb, at, ev.Type)
	case events.RoutineFailed:
		at := e.open(fb, ev.Type)
		fb.raw(`,"routine_id":`)
		fb.str(ev.RoutineID)
		fb.raw(`,"data":`)
		e.failure(fb)
		e.tail(fb, at, ev.Type)
		at = e.execEvent(fb, "error")
		e.failure(fb)
		fb.raw(`}`)
		e.tail(fb, at, "execution_event")
	case events.BreakpointHit:
		d := dataMap(ev.Data)
		bp, _ := d["breakpoint"].(map[string]any)
		at := e.open(fb, ev.Type)
		fb.raw(`,"breakpoint":{"breakpoint_id":`)
		fb.val(bp["breakpoint_id"])
		fb.raw(`,"type":`)
		fb.val(bp["type"])
		fb.raw(`,"routine_id":`)
		fb.val(bp["routine_id"])
		fb.raw(`,"slot_name":`)
		fb.val(bp["slot_name"])
		fb.raw(`,"event_name":`)
		fb.val(bp["event_name"])
		fb.raw(`},"context":{"routine_id":`)
		fb.str(ev.RoutineID)
		fb.raw(`,"variables":`)
		fb.val(d["variables"])
		fb.raw(`},"pause_id":`)
		fb.val(d["pause_id"])
		fb.raw(`,"paused_at":`)
		fb.val(d["paused_at"])
		e.tail(fb, at, ev.Type)
	case events.BreakpointResumed:
		d := dataMap(ev.Data)
		at := e.open(fb, ev.Type)
		fb.raw(`,"breakpoint_id":`)
		fb.val(d["breakpoint_id"])
		fb.raw(`,"data":{"step_mode":`)
		fb.val(d["step_mode"])
		fb.raw(`,"pause_id":`)
		fb.val(d["pause_id"])
		fb.raw(`}`)
		e.tail(fb, at, ev.Type)
	case events.VariableChanged: // debug endpoint only, as log
		d := dataMap(ev.Data)
		at := e.open(fb, ev.Type)
		fb.raw(`,"routine_id":`)
		fb.str(ev.RoutineID)
		fb.raw(`,"data":{"name":`)
		fb.val(d["name"])
		fb.raw(`,"old":`)
		fb.val(d["old"])
		fb.raw(`,"new":`)
		fb.val(d["new"])
		fb.raw(`,"pause_id":`)
		fb.val(d["pause_id"])
		fb.raw(`}`)
		e.tail(fb, at, ev.Type)
	case events.Log: // only the debug endpoint's clients get these (see client.wants)
		at := e.open(fb, "log")
		fb.raw(`,"routine_id":`)
		fb.strOrNull(ev.RoutineID)
		fb.raw(`,"level":`)
		fb.str(ev.Level)
		fb.raw(`,"message":`)
		fb.str(ev.Message)
		e.tail(fb, at, "log")
	}
}

func (e *seed004) open(fb *frameBuf, typ string) int { return fb.open(typ, "job_id") }

func (e *seed004) flowID(fb *frameBuf) {
	fb.raw(`,"flow_id":`)
	fb.str(fb.ev.FlowID)
}

// tail ends a message: its timestamp, seq and pos.
func (e *seed004) tail(fb *frameBuf, at int, typ string) {
	fb.raw(`,"timestamp":`)
	fb.iso(fb.ev.Time)
	fb.closeEvent(at, typ)
}

// reason is job_paused's and job_cancelled's message: data.reason.
func (e *seed004) reason(fb *frameBuf) {
	ev := fb.ev
	at := e.open(fb, ev.Type)
	fb.raw(`,"data":{"reason":`)
	fb.val(dataMap(ev.Data)["reason"])
	fb.raw(`}`)
	e.tail(fb, at, ev.Type)
}

// execEvent opens an execution_event message up to its event's "data":.
func (e *seed004) execEvent(fb *frameBuf, eventType string) int {
	ev := fb.ev
	at := e.open(fb, "execution_event")
	fb.raw(`,"event":{"event_id":"evt_`)
	fb.int(ev.Seq)
	fb.raw(`","routine_id":`)
	fb.str(ev.RoutineID)
	fb.raw(`,"event_type":`)
	fb.str(eventType)
	fb.raw(`,"timestamp":`)
	fb.iso(ev.Time)
	fb.raw(`,"data":`)
	return at
}

// failure is a routine failure's data object.
func (e *seed004) failure(fb *frameBuf) {
	ev := fb.ev
	fb.raw(`{"error":`)
	fb.str(ev.Error)
	fb.raw(`,"error_type":`)
	fb.str(ev.ErrorType)
	fb.raw(`,"slot_name":`)
	fb.str(ev.Slot)
	if ev.Status == "retrying" {
		fb.raw(`,"attempt":`)
		fb.int(int64(ev.Attempt))
		fb.raw(`,"retrying":true`)
	}
	fb.raw(`}`)
}

// metricsFrame is the job's metrics message as of now: a snapshot, not an
// event's message, so it has no pos.
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
	return frame{jobID: jobID, typ: "metrics", data: obj{
		{"type", "metrics"}, {"job_id", jobID}, {"timestamp", iso(now)},
		{"metrics", obj{
			{"start_time", start}, {"end_time", end}, {"duration", dur},
			{"total_events", m.events}, {"total_slot_calls", m.slotCalls}, {"total_event_emits", m.emits},
		}},
		{"seq", m.lastSeq},
	}.json()}
}
