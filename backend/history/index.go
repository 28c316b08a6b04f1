package history

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/switchyard/switchyard/backend/events"
)

// index knows every activation of a job from its log, without their data:
// where in the log each one started, emitted and ended. An activation's
// input and emitted data are read back from those seqs when asked for, so
// the index stays small (about 150 bytes an activation) however large the
// payloads are.
//
// Activation ids are dense from 1: the engine numbers activations as it
// queues them, the entry first (right after job_started), then the targets
// of each emit in turn. So the ids an emit queued are known from the
// running count, before (or without) those activations ever starting.
type index struct {
	acts    []act   // acts[id-1]
	started []int64 // ids of started activations
	sorted  bool    // started is in id order
	byRoute map[string]*idList
	emitted int64     // events emitted in all
	slab    []emitRec // storage for activations' first emit
}

type idList struct {
	ids    []int64
	sorted bool
}

// act is one activation as the index keeps it.
type act struct {
	parent      int64
	routine     string
	slot        string
	status      string // "" until it starts
	startedSeq  int64
	endedSeq    int64
	startedAt   int64 // unix nanoseconds
	completedAt int64
	duration    float64
	attempts    int32
	fail        *failure
	emits       []emitRec
}

type failure struct{ msg, typ string }

// emitRec is one event_emit of an activation: it queued targets activations
// with ids first, first+1, ….
type emitRec struct {
	seq     int64
	first   int64
	targets int32
	event   string
}

// newIndex returns an empty index sized for about n activations (the
// count of the job's record; 0 if unknown), so building it does not copy
// a growing slice over and over.
func newIndex(n int64) *index {
	n = min(max(n, 0), maxIDs)
	return &index{acts: make([]act, 0, n), started: make([]int64, 0, n), byRoute: map[string]*idList{}, sorted: true}
}

// maxIDs bounds the ids an index takes: a damaged log naming activation
// 10^12 must not make the server allocate for it.
const maxIDs = 1 << 24

// ensure grows the index to id, recording parent for new ids.
func (x *index) ensure(id, parent int64) *act {
	if id > maxIDs {
		id = maxIDs
	}
	for int64(len(x.acts)) < id {
		x.acts = append(x.acts, act{parent: parent})
	}
	return &x.acts[id-1]
}

func (x *index) get(id int64) *act {
	if id < 1 || id > int64(len(x.acts)) || x.acts[id-1].status == "" {
		return nil
	}
	return &x.acts[id-1]
}

// apply indexes one event; queued is the fold's activation count before it.
func (x *index) apply(l *line, queued int64) {
	switch l.typ {
	case events.JobStarted:
		x.ensure(1, 0)
	case events.RoutineStarted:
		if l.aid < 1 || l.aid > maxIDs {
			return
		}
		a := x.ensure(l.aid, l.parent)
		a.parent, a.routine, a.slot = l.parent, l.routine, l.slot
		a.status, a.startedSeq, a.attempts = events.StateRunning, l.seq, 1
		a.startedAt = l.when().UnixNano()
		x.started = append(x.started, l.aid)
		if n := len(x.started); n > 1 && x.started[n-2] > l.aid {
			x.sorted = false
		}
		x.byRoute[l.routine] = x.byRoute[l.routine].add(l.aid)
	case events.EventEmit:
		if x.get(l.aid) == nil {
			return
		}
		e := emitRec{seq: l.seq, targets: int32(l.targets), event: l.event}
		if l.targets > 0 && queued+l.targets <= maxIDs {
			e.first = queued + 1
			x.ensure(queued+l.targets, l.aid)
		}
		a := &x.acts[l.aid-1] // after ensure: growing acts may have moved it
		a.emits = x.appendEmit(a.emits, e)
		x.emitted++
	case events.RoutineCompleted:
		if a := x.get(l.aid); a != nil {
			a.status, a.fail = events.StateCompleted, nil
			x.end(a, l)
		}
	case events.RoutineFailed:
		a := x.get(l.aid)
		if a == nil {
			return
		}
		a.fail = &failure{msg: l.errMsg, typ: l.errType}
		if l.status == "retrying" {
			a.attempts++
			return
		}
		a.status = l.status
		if a.status == "" {
			a.status = events.StateFailed
		}
		x.end(a, l)
	}
}

// appendEmit appends e to an activation's emits; most activations emit
// once, so first emits come from a shared slab instead of one allocation
// each (a second emit moves the list to a slice of its own).
func (x *index) appendEmit(emits []emitRec, e emitRec) []emitRec {
	if len(emits) > 0 {
		return append(emits, e)
	}
	if len(x.slab) == cap(x.slab) {
		x.slab = make([]emitRec, 0, 1024)
	}
	x.slab = append(x.slab, e)
	n := len(x.slab)
	return x.slab[n-1 : n : n]
}

func (x *index) end(a *act, l *line) {
	a.endedSeq, a.duration = l.seq, l.duration
	a.completedAt = l.when().UnixNano()
}

func (ls *idList) add(id int64) *idList {
	if ls == nil {
		ls = &idList{sorted: true}
	}
	if n := len(ls.ids); n > 0 && ls.ids[n-1] > id {
		ls.sorted = false
	}
	ls.ids = append(ls.ids, id)
	return ls
}

// ids lists the started activations (of one routine, if given) in id
// order. Activations start nearly in id order, so sorting is rare.
func (x *index) ids(routineID string) []int64 {
	if routineID == "" {
		if !x.sorted {
			slices.Sort(x.started)
			x.sorted = true
		}
		return x.started
	}
	ls := x.byRoute[routineID]
	if ls == nil {
		return nil
	}
	if !ls.sorted {
		slices.Sort(ls.ids)
		ls.sorted = true
	}
	return ls.ids
}

// cost estimates the index's memory in bytes.
func (x *index) cost() int64 {
	return int64(len(x.acts))*int64(160) + int64(len(x.started))*16 + x.emitted*48
}

// Activation is one run of a routine, as the log recorded it: what arrived,
// what it emitted, how it ended. Input and emitted data are the raw JSON of
// the log, never truncated.
type Activation struct {
	ActivationID int64   `json:"activation_id"`
	RoutineID    string  `json:"routine_id"`
	Slot         string  `json:"slot"`
	ParentID     *int64  `json:"parent_id"` // nil for the entry
	Children     []int64 `json:"children"`  // ids its emits queued, started or not
	// Input is the data that arrived at the slot (null: JSON null).
	Input     json.RawMessage `json:"input"`
	Emitted   []Emit          `json:"emitted"`
	Status    string          `json:"status"`   // running | completed | failed | skipped
	Attempts  int             `json:"attempts"` // 1 + retries
	Error     *string         `json:"error"`    // the last failure (nil once completed)
	ErrorType *string         `json:"error_type"`
	StartedAt time.Time       `json:"started_at"`
	// CompletedAt, Duration and EndedSeq are nil while it runs.
	CompletedAt *time.Time `json:"completed_at"`
	Duration    *float64   `json:"duration"`
	StartedSeq  int64      `json:"started_seq"`
	EndedSeq    *int64     `json:"ended_seq"`
}

// Emit is one event an activation emitted.
type Emit struct {
	Event   string          `json:"event"`
	Data    json.RawMessage `json:"data"`
	Targets int             `json:"targets"` // activations it queued
	Seq     int64           `json:"seq"`
}

// activation renders the indexed activation id without its data.
func (x *index) activation(id int64) Activation {
	a := &x.acts[id-1]
	out := Activation{
		ActivationID: id, RoutineID: a.routine, Slot: a.slot, Children: []int64{}, Emitted: make([]Emit, 0, len(a.emits)),
		Status: a.status, Attempts: int(a.attempts), StartedAt: time.Unix(0, a.startedAt).UTC(), StartedSeq: a.startedSeq,
	}
	if a.parent > 0 {
		p := a.parent
		out.ParentID = &p
	}
	for _, e := range a.emits {
		out.Emitted = append(out.Emitted, Emit{Event: e.event, Targets: int(e.targets), Seq: e.seq})
		for k := int64(0); e.first > 0 && k < int64(e.targets); k++ {
			out.Children = append(out.Children, e.first+k)
		}
	}
	if a.fail != nil && a.status != events.StateCompleted {
		msg, typ := a.fail.msg, a.fail.typ
		out.Error, out.ErrorType = &msg, &typ
	}
	if a.endedSeq > 0 {
		t := time.Unix(0, a.completedAt).UTC()
		d, seq := a.duration, a.endedSeq
		out.CompletedAt, out.Duration, out.EndedSeq = &t, &d, &seq
	}
	return out
}

// dataSeqs lists the seqs whose data the activations need, ascending and
// without repeats: each one's routine_started (its input) and, with emits,
// its event_emits.
func dataSeqs(list []Activation, emits bool) []int64 {
	var seqs []int64
	for i := range list {
		seqs = append(seqs, list[i].StartedSeq)
		for _, e := range list[i].Emitted {
			if emits {
				seqs = append(seqs, e.Seq)
			}
		}
	}
	slices.Sort(seqs)
	return slices.Compact(seqs)
}

// fillData sets the activations' input and emitted data from data (by seq).
func fillData(list []Activation, data map[int64]json.RawMessage) {
	for i := range list {
		list[i].Input = data[list[i].StartedSeq]
		for k := range list[i].Emitted {
			list[i].Emitted[k].Data = data[list[i].Emitted[k].Seq]
		}
	}
}
