package ws

import (
	"slices"
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

// encode appends the messages of ev to fb. Every event type yields the
// same number of messages whatever the state, so an event's parts are the
// same on every stream of the job (docs/streams.md, "Positions").
func (e *seed000) encode(ev *events.Event, fb *frameBuf) {
	if ev.Progress != 0 {
		e.progress = ev.Progress
	}
	fb.begin(ev)
	switch ev.Type {
	case events.JobStarted:
		if entry, ok := dataMap(ev.Data)["entry_routine"].(string); ok {
			e.current = entry // the first node to run
		}
		e.status(fb, "running", "")
	case events.RoutineStarted:
		e.current = ev.RoutineID
		e.started[ev.ActivationID] = ev.Time
		e.node(fb, "running", nil, "", false)
	case events.EventEmit:
		e.outputs[ev.ActivationID] = owned(ev.Data)
		n := e.emits[ev.ActivationID]
		if n == nil {
			n = map[string]int{}
			e.emits[ev.ActivationID] = n
		}
		n[ev.Event]++
	case events.RoutineCompleted:
		out := e.outputs[ev.ActivationID]
		if ev.Data != nil {
			out = ev.Data
		}
		e.node(fb, "completed", out, "", true)
		e.forget(ev.ActivationID)
		e.status(fb, "running", "")
	case events.RoutineFailed:
		if ev.Status == "retrying" {
			return
		}
		e.node(fb, "failed", nil, ev.Error, true)
		e.forget(ev.ActivationID)
	case events.Log:
		at := fb.open("log", "execution_id")
		fb.raw(`,"log":{"level":`)
		fb.str(ev.Level)
		fb.raw(`,"message":`)
		fb.str(ev.Message)
		fb.raw(`,"node_id":`)
		fb.strOrNull(ev.RoutineID)
		fb.raw(`,"timestamp":`)
		fb.epoch(ev.Time)
		fb.raw(`}`)
		e.tail(fb, at, "log")
	case events.JobPaused:
		e.status(fb, "running", "paused")
	case events.JobResumed:
		e.status(fb, "running", "running")
	case events.JobCompleted:
		e.progress = 1
		e.status(fb, "completed", "")
		d := dataMap(ev.Data)
		at := fb.open("completion", "execution_id")
		fb.raw(`,"result":{"status":"completed","output":`)
		fb.val(d["result"])
		fb.raw(`,"nodes_completed":`)
		fb.float(num(d["nodes_completed"]))
		fb.raw(`,"nodes_failed":`)
		fb.float(num(d["nodes_failed"]))
		fb.raw(`,"duration":`)
		fb.float(ev.Duration)
		fb.raw(`}`)
		e.tail(fb, at, "completion")
	case events.JobFailed:
		e.status(fb, "failed", "")
		e.errorMsg(fb, ev.Error)
	case events.JobCancelled:
		e.status(fb, "failed", "cancelled")
		e.errorMsg(fb, "Job cancelled")
	}
}

// tail ends a message: its timestamp, seq and pos.
func (e *seed000) tail(fb *frameBuf, at int, typ string) {
	fb.raw(`,"timestamp":`)
	fb.epoch(fb.ev.Time)
	fb.closeEvent(at, typ)
}

func (e *seed000) status(fb *frameBuf, status, state string) {
	at := fb.open("status", "execution_id")
	fb.raw(`,"status":`)
	fb.str(status)
	fb.raw(`,"data":{"progress":`)
	fb.float(e.progress)
	fb.raw(`,"current_node":`)
	fb.strOrNull(e.current)
	if state != "" {
		fb.raw(`,"state":`)
		fb.str(state)
	}
	fb.raw(`}`)
	e.tail(fb, at, "status")
}

func (e *seed000) node(fb *frameBuf, status string, output any, errText string, ended bool) {
	ev := fb.ev
	at := fb.open("node_update", "execution_id")
	fb.raw(`,"node_id":`)
	fb.str(ev.RoutineID)
	fb.raw(`,"node_state":{"status":`)
	fb.str(status)
	fb.raw(`,"output":`)
	fb.val(output)
	fb.raw(`,"error":`)
	if status == "failed" {
		fb.str(errText)
	} else {
		fb.raw("null")
	}
	fb.raw(`,"started_at":`)
	if t, ok := e.started[ev.ActivationID]; ok {
		fb.epoch(t)
	} else {
		fb.raw("null")
	}
	fb.raw(`,"completed_at":`)
	if ended {
		fb.epoch(ev.Time)
	} else {
		fb.raw("null")
	}
	if n := e.emits[ev.ActivationID]; len(n) > 0 && ended {
		fb.raw(`,"emitted":`)
		appendCounts(fb, n)
	}
	fb.raw(`}`)
	e.tail(fb, at, "node_update")
}

func (e *seed000) errorMsg(fb *frameBuf, text string) {
	at := fb.open("error", "execution_id")
	fb.raw(`,"error":`)
	fb.str(text)
	e.tail(fb, at, "error")
}

// appendCounts writes counts by name as a JSON object, keys sorted.
func appendCounts(fb *frameBuf, n map[string]int) {
	var stack [8]string
	keys := stack[:0]
	for k := range n {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fb.raw("{")
	for i, k := range keys {
		if i > 0 {
			fb.raw(",")
		}
		fb.str(k)
		fb.raw(":")
		fb.int(int64(n[k]))
	}
	fb.raw("}")
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
