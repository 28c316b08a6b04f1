package engine

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/flow"
)

// interruptedError is the failure of an activation a crash interrupted and
// that may not run again (its kind has outside effects): its routine's error
// policy decides what follows.
type interruptedError struct{}

func (interruptedError) Error() string {
	return "interrupted by a crash: the server stopped while it ran, and its kind may have had effects already (mark it idempotent: true to run it again)"
}

// Type is the error type recorded on routine_failed.
func (interruptedError) Type() string { return "Interrupted" }

var errInterrupted error = interruptedError{}

// Restored is an activation of a job as its log left it: queued but not
// started, or started and not ended when the process stopped.
type Restored struct {
	ID, ParentID int64
	Depth        int
	RoutineID    string
	Slot         string
	Source       string
	Data         any
}

// RestoreRequest describes a job the process was running when it last
// stopped, rebuilt from its log (backend/restart), to continue it.
type RestoreRequest struct {
	Flow *flow.Flow // the version the job ran
	// State is the job as its log says: routine states, progress, result,
	// the count of events (its last seq) and of activations.
	State events.JobState
	// NextID is the last activation id the job assigned.
	NextID  int64
	Shared  map[string]any
	Private map[string]map[string]any // routine → private state
	Queued  []Restored                // queued, not started
	Running []Restored                // started, not ended
	// Paused keeps the job paused (as if by an operator) until resumed.
	Paused bool
}

// RestoreReport says what a restore did with the job's activations.
type RestoreReport struct {
	Queued, Rerun, Failed int
}

// Restore continues a job from its log. Its queued activations are queued
// again; those that were running run again when their kind allows it
// (at-least-once), else they fail as interrupted and their routine's error
// policy applies. A log line says so; nothing else is published at start.
func (e *Engine) Restore(req RestoreRequest) (RestoreReport, error) {
	plan, err := e.Plan(req.Flow)
	if err != nil {
		return RestoreReport{}, err
	}
	restore := func(r Restored) (*Activation, error) {
		n, ok := plan.routines[r.RoutineID]
		if !ok {
			return nil, fmt.Errorf("activation %d: routine %q is not in flow %s version %d", r.ID, r.RoutineID, req.Flow.ID, req.Flow.Version)
		}
		return &Activation{ID: r.ID, ParentID: r.ParentID, Depth: r.Depth, RoutineID: r.RoutineID, Slot: r.Slot,
			Source: r.Source, Data: r.Data, node: n}, nil
	}
	var rep RestoreReport
	var queue []*Activation
	for _, r := range req.Running {
		a, err := restore(r)
		if err != nil {
			return RestoreReport{}, err
		}
		a.hooked = true // the debugger saw it before it first ran
		if a.node.rerunSafe {
			a.resumed = true
			rep.Rerun++
		} else {
			a.interrupted = true
			rep.Failed++
		}
		queue = append(queue, a)
	}
	for _, r := range req.Queued {
		a, err := restore(r)
		if err != nil {
			return RestoreReport{}, err
		}
		queue = append(queue, a)
		rep.Queued++
	}
	sort.SliceStable(queue, func(i, k int) bool { return queue[i].ID < queue[k].ID })

	st := req.State
	if st.RoutineStates == nil {
		st.RoutineStates = map[string]*events.RoutineState{}
	}
	for rid := range plan.routines {
		if st.RoutineStates[rid] == nil {
			st.RoutineStates[rid] = &events.RoutineState{Status: events.StatePending}
		}
	}
	j := newJob(e, plan, st.JobID, st.EntryRoutineID, st.Params)
	started := time.Now()
	if st.StartedAt != nil {
		started = *st.StartedAt
	}
	j.started = started
	st.Status, st.CompletedAt, st.Error = events.StatusRunning, nil, ""
	st.PauseRequested, st.PauseReason, st.PausedAt = false, "", nil
	j.state = st
	j.seq, j.nextID = st.Events, req.NextID
	j.state.Activations = req.NextID
	if req.Shared != nil {
		j.shared = req.Shared
	}
	if req.Private != nil {
		j.private = req.Private
	}
	for _, rs := range st.RoutineStates {
		if rs.CompletedAt != nil {
			j.doneRoutines++
		}
	}
	for _, a := range queue {
		a.job = j
		if !a.resumed && !a.interrupted {
			size, _ := events.EncodedSize(a.Data, 1<<62)
			a.cost = activationCost + size
			j.queuedBytes += a.cost
		}
	}
	j.queue = queue

	e.mu.Lock()
	if e.closing {
		e.mu.Unlock()
		return RestoreReport{}, ErrShuttingDown
	}
	if _, dup := e.jobs[st.JobID]; dup {
		e.mu.Unlock()
		return RestoreReport{}, errors.New("job " + st.JobID + " is already running")
	}
	e.jobs[st.JobID] = j
	e.mu.Unlock()
	if h := e.opts.Hooks; h != nil {
		h.JobRestored(StartedJob{JobID: st.JobID, Plan: plan})
	}

	j.mu.Lock()
	defer j.mu.Unlock()
	j.publishLocked(&events.Event{Type: events.Log, Level: "warning", Message: fmt.Sprintf(
		"the server restarted: the job continues with %d queued activations, %d run again, %d failed as interrupted",
		rep.Queued, rep.Rerun, rep.Failed)})
	if t := plan.Flow.Timeout(); t > 0 {
		j.timer = time.AfterFunc(max(t-time.Since(started), 0), func() {
			j.mu.Lock()
			defer j.mu.Unlock()
			j.endLocked(events.StatusFailed, fmt.Sprintf("job timed out after %s", t))
		})
	}
	if o := e.opts.Observer; o != nil {
		o.JobStarted(plan.Flow.ID)
	}
	if req.Paused {
		j.pauseRequested, j.pauseReason = true, events.PauseAPI
		j.state.Status = events.StatusPaused
		return rep, nil
	}
	j.spawnLocked()
	j.settleLocked() // nothing left to run: the job completes now
	return rep, nil
}

// Delivery is one activation an emit queues: where, and with what data.
type Delivery struct {
	RoutineID, Slot string
	Data            any
}

// Deliveries lists what an emit of event by routineID queues, in the order
// the engine queues them (and so numbers them); ok is false when the flow
// version has no such routine.
func (p *Plan) Deliveries(routineID, event string, data any) (out []Delivery, ok bool) {
	n, ok := p.routines[routineID]
	if !ok {
		return nil, false
	}
	for _, t := range n.outs[event] {
		out = append(out, Delivery{RoutineID: t.node.id, Slot: t.slot, Data: mapParams(data, t.mapping)})
	}
	return out, true
}

// EntrySlot is the slot a job entering at routineID starts on.
func (p *Plan) EntrySlot(routineID string) (string, bool) {
	n, ok := p.routines[routineID]
	if !ok {
		return "", false
	}
	return firstSlot(n), true
}
