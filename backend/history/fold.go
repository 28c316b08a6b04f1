package history

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/switchyard/switchyard/backend/events"
)

// fold is a job's state folded from its log, right after event Seq. It is
// what the engine's job state was then, rebuilt from the events alone, with
// every payload kept as the raw JSON the log holds: a fold never decodes
// data, and the answer writes it back as it is.
//
// A checkpoint (copy) shares the raw values with the fold it was taken
// from: only maps and the result list header are copied. So a shared value
// is never changed in place. A fold does overwrite buffers it alone holds
// (an output or result nobody else has seen, its Open and LastTime
// buffers), which spares a copy per event on the hot path; copy() and
// answers (state) mark such buffers shared first.
type fold struct {
	Seq         int64                      `json:"seq"`
	Status      string                     `json:"status"`
	Progress    float64                    `json:"progress"`
	CurrentNode string                     `json:"current_node"`
	Activations int64                      `json:"activations"`
	Result      json.RawMessage            `json:"result,omitempty"` // result of mode "last" (nil: null)
	ResultList  []json.RawMessage          `json:"result_list,omitempty"`
	ResultIsArr bool                       `json:"result_is_list,omitempty"` // the result is ResultList
	Error       string                     `json:"error,omitempty"`
	CompletedAt *time.Time                 `json:"completed_at,omitempty"`
	Duration    float64                    `json:"duration,omitempty"`
	LastTime    []byte                     `json:"last_time,omitempty"` // time of event Seq, RFC 3339 text
	PauseReason string                     `json:"pause_reason,omitempty"`
	PausedAt    *events.PausedAt           `json:"paused_at,omitempty"`
	Routines    map[string]*routine        `json:"routines"`
	Shared      map[string]json.RawMessage `json:"shared"`
	// Open holds, for each activation that has started and not ended, the
	// data it emitted last (nil if none yet): a routine's output is its
	// activation's last emit, and routine_completed does not repeat it.
	Open map[int64]json.RawMessage `json:"open"`

	// resultOwned: Result's buffer is this fold's alone (see routine.owned).
	resultOwned bool
	// free holds Open buffers of ended activations for the next ones.
	free [][]byte
}

// routine is one routine's state within the fold. Times are values (zero:
// not yet) so a fold allocates nothing per activation for them.
type routine struct {
	Status      string          `json:"status"`
	Output      json.RawMessage `json:"output,omitempty"`
	Error       *string         `json:"error,omitempty"`
	StartedAt   time.Time       `json:"started_at"`
	CompletedAt time.Time       `json:"completed_at"`
	Activations int             `json:"activations"`
	Emitted     map[string]int  `json:"emitted,omitempty"`
	// owned: Output's buffer belongs to this fold alone (no checkpoint or
	// answer shares it), so the next output may overwrite it in place.
	owned bool
}

// setOutput records a routine's output, reusing its buffer when no one
// else sees it: a routine completing thousands of times costs one.
func (r *routine) setOutput(out []byte) {
	switch {
	case len(out) == 0:
		r.Output, r.owned = nil, false
	case r.owned:
		r.Output = append(r.Output[:0], out...)
	default:
		r.Output, r.owned = bytes.Clone(out), true
	}
}

func newFold() *fold {
	return &fold{
		Status:   events.StatusPending,
		Routines: map[string]*routine{},
		Shared:   map[string]json.RawMessage{},
		Open:     map[int64]json.RawMessage{},
	}
}

// copy returns a checkpoint of f that later applies to f cannot change:
// buffers f reuses (Open, LastTime) are cloned, the others become shared.
func (f *fold) copy() *fold {
	c := *f
	f.resultOwned, c.resultOwned, c.free = false, false, nil
	c.LastTime = bytes.Clone(f.LastTime)
	c.ResultList = f.ResultList[:len(f.ResultList):len(f.ResultList)] // an append to either reallocates
	c.Routines = make(map[string]*routine, len(f.Routines))
	for id, r := range f.Routines {
		r.owned = false // now shared with the copy
		rc := *r
		rc.Emitted = maps.Clone(r.Emitted)
		c.Routines[id] = &rc
	}
	c.Shared = maps.Clone(f.Shared)
	c.Open = make(map[int64]json.RawMessage, len(f.Open))
	for id, d := range f.Open {
		c.Open[id] = own(d)
	}
	return &c
}

// own copies a raw value out of a buffer that will be reused; an empty
// value is JSON null, kept as nil (an empty RawMessage does not encode).
func own(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return bytes.Clone(b)
}

// normalize makes a decoded checkpoint usable: JSON leaves empty maps nil.
func (f *fold) normalize() {
	if f.Routines == nil {
		f.Routines = map[string]*routine{}
	}
	if f.Shared == nil {
		f.Shared = map[string]json.RawMessage{}
	}
	if f.Open == nil {
		f.Open = map[int64]json.RawMessage{}
	}
}

func (f *fold) routine(id string) *routine {
	r := f.Routines[id]
	if r == nil {
		r = &routine{Status: events.StatePending}
		f.Routines[id] = r
	}
	return r
}

// apply folds one event, exactly as the engine changed the job's state when
// it published it (backend/engine/job.go). The line's bytes are only lent
// (the log reader reuses them): what the fold keeps, it copies.
func (f *fold) apply(l *line) {
	f.Seq = l.seq
	f.LastTime = append(f.LastTime[:0], l.time...) // f's own buffer: copy() clones it
	switch l.typ {
	case events.RoutineStarted, events.EventEmit, events.Log:
	default: // the engine stamps every other event with the job's progress (0 is left out)
		f.Progress = l.progress
	}
	switch l.typ {
	case events.JobStarted:
		f.Status = events.StatusRunning
		f.Activations = max(f.Activations, 1) // the entry is queued right after
	case events.RoutineStarted:
		t := l.when()
		r := f.routine(l.routine)
		r.Status, r.StartedAt = events.StateRunning, t
		r.Activations++
		f.CurrentNode = l.routine
		f.Open[l.aid] = f.buffer()
		f.Activations = max(f.Activations, l.aid) // logs written before event_emit carried targets
	case events.EventEmit:
		f.Activations += l.targets
		r := f.routine(l.routine)
		if r.Emitted == nil {
			r.Emitted = map[string]int{}
		}
		r.Emitted[l.event]++
		if last, open := f.Open[l.aid]; open { // a skipped activation forwards its input after it ended
			// The buffer is the fold's own (copy() clones it), so a
			// split emitting thousands of items reuses one.
			f.Open[l.aid] = append(last[:0], l.data...)
		}
	case events.RoutineCompleted:
		f.completed(l)
	case events.RoutineFailed:
		f.failed(l)
	case events.JobPaused:
		var d struct {
			PauseReason string           `json:"pause_reason"`
			PausedAt    *events.PausedAt `json:"paused_at"`
		}
		_ = json.Unmarshal(l.data, &d) // a malformed payload leaves the reason unknown
		f.Status, f.PauseReason, f.PausedAt = events.StatusPaused, d.PauseReason, d.PausedAt
	case events.JobResumed:
		f.Status, f.PauseReason, f.PausedAt = events.StatusRunning, "", nil
	case events.BreakpointHit:
		f.breakpointHit(l)
	case events.SharedSet:
		var d struct {
			Key   string          `json:"key"`
			Value json.RawMessage `json:"value"`
		}
		if json.Unmarshal(l.data, &d) == nil {
			f.setShared(d.Key, d.Value)
		}
	case events.VariableChanged:
		var d struct {
			Name string          `json:"name"`
			New  json.RawMessage `json:"new"`
		}
		if json.Unmarshal(l.data, &d) == nil {
			if key, ok := strings.CutPrefix(d.Name, "shared."); ok {
				f.setShared(key, d.New)
			}
		}
	case events.JobCompleted, events.JobFailed, events.JobCancelled:
		t := l.when()
		f.Status = terminalStatus[l.typ]
		f.Error, f.Duration, f.CompletedAt = l.errMsg, l.duration, &t
		f.PauseReason, f.PausedAt = "", nil
		for _, r := range f.Routines {
			if r.Status == events.StateRunning { // as the engine's finalizeLocked
				r.Status = events.StateCancelled
			}
		}
	}
}

var terminalStatus = map[string]string{
	events.JobCompleted: events.StatusCompleted,
	events.JobFailed:    events.StatusFailed,
	events.JobCancelled: events.StatusCancelled,
}

// completed applies routine_completed: the routine's output is what the
// activation emitted last or, if it emitted nothing, the event's data
// (an output routine's result).
func (f *fold) completed(l *line) {
	t := l.when()
	r := f.routine(l.routine)
	r.Status, r.CompletedAt, r.Error = events.StateCompleted, t, nil
	out := l.data
	if l.emitted > 0 {
		out = f.Open[l.aid]
	}
	r.setOutput(out)
	f.close(l.aid)
	switch l.resultMode {
	case "last":
		f.setResult(l.data)
	case "append":
		f.appendResult(own(l.data))
	}
}

// setResult replaces the result (mode "last"), reusing its buffer when no
// checkpoint or answer shares it: an output routine reached thousands of
// times costs one.
func (f *fold) setResult(v []byte) {
	f.ResultList, f.ResultIsArr = nil, false
	switch {
	case len(v) == 0:
		f.Result, f.resultOwned = nil, false
	case f.resultOwned:
		f.Result = append(f.Result[:0], v...)
	default:
		f.Result, f.resultOwned = bytes.Clone(v), true
	}
}

// buffer returns an empty buffer for a starting activation's emits.
func (f *fold) buffer() []byte {
	if n := len(f.free); n > 0 {
		b := f.free[n-1]
		f.free = f.free[:n-1]
		return b[:0]
	}
	return nil
}

// close forgets an ended activation, keeping its buffer for the next one
// (everything kept from it has been copied).
func (f *fold) close(aid int64) {
	if b, ok := f.Open[aid]; ok {
		delete(f.Open, aid)
		if cap(b) > 0 && cap(b) <= 64<<10 && len(f.free) < 64 {
			f.free = append(f.free, b)
		}
	}
}

// appendResult adds v to the result as the engine does: to the list the
// result already is, else to a new list.
func (f *fold) appendResult(v json.RawMessage) {
	if !f.ResultIsArr {
		var list []json.RawMessage
		if len(f.Result) > 0 && f.Result[0] == '[' {
			_ = json.Unmarshal(f.Result, &list)
		}
		f.Result, f.ResultList, f.ResultIsArr, f.resultOwned = nil, list, true, false
	}
	f.ResultList = append(f.ResultList, v)
}

// failed applies routine_failed; a failed attempt that will be retried
// changes nothing but the activation's attempt count.
func (f *fold) failed(l *line) {
	if l.status == "retrying" {
		return
	}
	t := l.when()
	r := f.routine(l.routine)
	r.Status = l.status
	if r.Status == "" {
		r.Status = events.StateFailed
	}
	msg := l.errMsg
	r.Error, r.CompletedAt = &msg, t
	f.close(l.aid)
}

// breakpointHit moves a paused job's position to the hit presented now
// (a queued hit shown after another one was resumed).
func (f *fold) breakpointHit(l *line) {
	if f.Status != events.StatusPaused {
		return // job_paused will carry the position
	}
	var d struct {
		PausedAt *events.PausedAt `json:"paused_at"`
	}
	if json.Unmarshal(l.data, &d) == nil && d.PausedAt != nil {
		f.PauseReason, f.PausedAt = events.PauseBreakpoint, d.PausedAt
	}
}

// setShared replaces a key of the shared data; the map is the fold's own
// (copy clones it), and values are never changed in place.
func (f *fold) setShared(key string, v json.RawMessage) {
	if len(v) == 0 {
		v = json.RawMessage("null")
	}
	f.Shared[key] = v
}

// State is a job as it was right after event At of its log: the fields of
// GET /api/jobs/{id}, plus the job's shared data. Payloads (params aside)
// are the raw JSON of the log.
type State struct {
	events.JobState
	At     int64                      `json:"at"`
	Shared map[string]json.RawMessage `json:"shared"`
}

// state renders f for the job described by base.
func (f *fold) state(base *jobBase) *State {
	js := events.JobState{
		JobID: base.record.JobID, FlowID: base.record.FlowID, FlowVersion: base.record.FlowVersion,
		EntryRoutineID: base.record.EntryRoutineID, Params: base.record.Params,
		CreatedAt: base.record.CreatedAt, StartedAt: base.record.StartedAt,
		Status: f.Status, Progress: f.Progress, CurrentNode: f.CurrentNode, Activations: f.Activations,
		Error: f.Error, Events: f.Seq, PauseReason: f.PauseReason, PausedAt: f.PausedAt,
		Result: f.result(),
	}
	if events.Finished(f.Status) {
		js.Duration, js.CompletedAt = f.Duration, f.CompletedAt
		if base.finished && base.record.CompletedAt != nil {
			// The record's end time is taken a moment before the
			// terminal event is stamped; GET /api/jobs/{id} shows it.
			js.CompletedAt = base.record.CompletedAt
		}
	} else if js.StartedAt != nil {
		// A live job's duration is "so far": here, up to this event.
		if t := parseTime(f.LastTime); !t.IsZero() {
			js.Duration = max(t.Sub(*js.StartedAt).Seconds(), 0)
		}
	}
	js.RoutineStates = make(map[string]*events.RoutineState, len(base.routines)+len(f.Routines))
	for _, id := range base.routines {
		js.RoutineStates[id] = &events.RoutineState{Status: events.StatePending}
	}
	for id, r := range f.Routines {
		r.owned = false // the answer shares the buffer: the fold must not reuse it
		js.RoutineStates[id] = &events.RoutineState{Status: r.Status, Output: rawAny(r.Output), Error: r.Error,
			StartedAt: timePtr(r.StartedAt), CompletedAt: timePtr(r.CompletedAt), Activations: r.Activations,
			Emitted: maps.Clone(r.Emitted)}
		switch r.Status {
		case events.StateCompleted:
			js.NodesCompleted++
		case events.StateFailed:
			js.NodesFailed++
		}
	}
	return &State{JobState: js, At: f.Seq, Shared: maps.Clone(f.Shared)}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (f *fold) result() any {
	f.resultOwned = false // the answer shares the buffer
	if f.ResultIsArr {
		return slices.Clone(f.ResultList)
	}
	return rawAny(f.Result)
}

// rawAny is a raw value as an interface: nil (not a nil RawMessage) for
// null, so Go callers can test it.
func rawAny(r json.RawMessage) any {
	if r == nil {
		return nil
	}
	return r
}

// cost estimates the bytes a checkpoint of f holds on its own: result
// items and outputs are shared with the fold it was copied from, but are
// counted per checkpoint anyway except the result list's items.
func (f *fold) cost() int64 {
	n := int64(256 + len(f.Result) + 24*len(f.ResultList))
	for id, r := range f.Routines {
		n += int64(160 + len(id) + len(r.Output))
	}
	for k, v := range f.Shared {
		n += int64(64 + len(k) + len(v))
	}
	for _, d := range f.Open {
		n += int64(48 + len(d))
	}
	return n
}

// resultItemsCost is the bytes of the result list's items, counted once
// per job (every checkpoint shares them).
func (f *fold) resultItemsCost() int64 {
	var n int64
	for _, v := range f.ResultList {
		n += int64(len(v))
	}
	return n
}
