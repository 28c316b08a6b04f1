package engine

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/switchyard/switchyard/backend/events"
)

// Activation is one run of a routine for one payload arriving at one slot.
// ParentID is the activation whose emit caused this one (0 for the entry):
// the chain of parents is the debugger's call stack, rebuilt from the log
// (routine_started records the parent), so no activation keeps its
// ancestors alive.
type Activation struct {
	ID       int64
	ParentID int64
	// Depth is the number of ancestors (0 for the entry).
	Depth     int
	RoutineID string
	Slot      string
	// Source is the "routine.event" whose emit delivered Data ("" for the
	// entry), so two connections from one routine are told apart.
	Source string
	Data   any

	job        *job
	node       *node
	started    time.Time
	emitted    int
	children   int // activations queued by this one's emits
	output     any
	resultMode string // set when the activation set the job's result
	hooked     bool   // BeforeActivation has passed it
	failed     bool   // it ended with an error
	usedState  bool   // it called WithState: its end records the routine's state
	cost       int64  // what it counts against the job's queue budget while queued
	dataBytes  int64  // Data's size as JSON, as its emit measured it
	// resumed marks an activation a crash interrupted, restored to run
	// again (its routine_started is already in the log); interrupted, one
	// that may not run again and fails as interrupted instead.
	resumed, interrupted bool
}

// JobID is the id of the activation's job.
func (a *Activation) JobID() string { return a.job.state.JobID }

// FlowID is the id of the job's flow.
func (a *Activation) FlowID() string { return a.job.plan.Flow.ID }

// Kind is the routine's kind.
func (a *Activation) Kind() string { return a.node.kind }

// Params are the job's start parameters.
func (a *Activation) Params() any { return a.job.state.Params }

// Children is the number of activations this one's emits have queued.
func (a *Activation) Children() int {
	a.job.mu.Lock()
	defer a.job.mu.Unlock()
	return a.children
}

// Shared returns the job's shared data (read-only; it is replaced, never
// mutated).
func (a *Activation) Shared() map[string]any {
	a.job.mu.Lock()
	defer a.job.mu.Unlock()
	return a.job.shared
}

// Inbound is the number of connections into the activation's slot.
func (a *Activation) Inbound() int { return a.node.inbound[a.Slot] }

// Env is the scope of expressions: data, job, routine, slot, shared.
func (a *Activation) Env() map[string]any {
	a.job.mu.Lock()
	shared := a.job.shared
	a.job.mu.Unlock()
	return map[string]any{
		"data":    a.Data,
		"job":     a.job.env,
		"routine": a.node.env,
		"slot":    a.Slot,
		"shared":  shared,
	}
}

// SetShared sets a key of the job's shared data.
func (a *Activation) SetShared(key string, value any) {
	j := a.job
	j.mu.Lock()
	defer j.mu.Unlock()
	next := make(map[string]any, len(j.shared)+1)
	for k, v := range j.shared {
		next[k] = v
	}
	next[key] = value
	j.shared = next
	j.publishLocked(&events.Event{Type: events.SharedSet, RoutineID: a.RoutineID, ActivationID: a.ID,
		Data: map[string]any{"key": key, "value": value}})
}

// Park marks the activation as held by a hook until the returned function
// is called: meanwhile it does not count as running, so the job can become
// paused or end around it.
func (a *Activation) Park() (unpark func()) {
	j := a.job
	j.mu.Lock()
	j.holding++
	j.settleLocked()
	j.mu.Unlock()
	return func() {
		j.mu.Lock()
		j.holding--
		j.mu.Unlock()
	}
}

// PauseJob pauses the activation's job for the debugger, recording where:
// nothing new is dispatched, and the job is paused once the activations
// still running have finished. A job already paused keeps its status and
// takes the new position.
func (a *Activation) PauseJob(at *events.PausedAt) {
	j := a.job
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ending != "" {
		return
	}
	j.pauseReason, j.pausedAt = events.PauseBreakpoint, at
	if !j.pauseRequested {
		j.pauseRequested = true
		j.settleLocked()
	}
}

// ResumeJob resumes the activation's job after a debugger pause; a job that
// is not paused is left alone.
func (a *Activation) ResumeJob() {
	j := a.job
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ending == "" && j.pauseRequested {
		_ = j.resumeLocked()
	}
}

// Publish records a debugger event (breakpoint_hit, variable_changed…) in
// the job's log, attributed to the activation.
func (a *Activation) Publish(ev *events.Event) {
	j := a.job
	j.mu.Lock()
	defer j.mu.Unlock()
	if ev.RoutineID == "" {
		ev.RoutineID = a.RoutineID
	}
	if ev.ActivationID == 0 {
		ev.ActivationID = a.ID
	}
	j.publishLocked(ev)
}

// WithState runs fn with the routine's private state in this job, locked
// against the routine's other activations. fn must not call back into the
// activation (Emit, Log, SetShared…): the lock is not re-entrant.
func (a *Activation) WithState(fn func(state map[string]any)) {
	j := a.job
	j.mu.Lock()
	defer j.mu.Unlock()
	st, ok := j.private[a.RoutineID]
	if !ok {
		st = map[string]any{}
		j.private[a.RoutineID] = st
	}
	a.usedState = true
	fn(st)
}

// SetResult stores v as the job's result; with appendMode the result is a
// list that collects every call.
func (a *Activation) SetResult(v any, appendMode bool) {
	j := a.job
	j.mu.Lock()
	defer j.mu.Unlock()
	if appendMode {
		list, _ := j.state.Result.([]any)
		j.state.Result = append(list, v)
	} else {
		j.state.Result = v
	}
	a.output = v
	a.resultMode = "last"
	if appendMode {
		a.resultMode = "append"
	}
}

// Log writes a log line attributed to the activation's routine.
func (a *Activation) Log(level, message string) {
	j := a.job
	j.mu.Lock()
	defer j.mu.Unlock()
	j.publishLocked(&events.Event{Type: events.Log, RoutineID: a.RoutineID, ActivationID: a.ID, Level: level, Message: message})
}

// Emit delivers data to every slot connected to event, each delivery a new
// activation. It fails if the routine has no such event or the job is ending.
// Every target receives the same value: routines must treat their input as
// read-only.
func (a *Activation) Emit(ctx context.Context, event string, data any) error {
	if _, ok := a.node.events[event]; !ok {
		return fmt.Errorf("routine %q has no event %q", a.RoutineID, event)
	}
	size, err := outputSize(a.job.e.opts.MaxOutputBytes, a.job.e.opts.MaxQueuedBytes, event, data)
	if err != nil {
		return err
	}
	if h := a.job.e.opts.Hooks; h != nil {
		if data, err = h.BeforeEmit(ctx, a, event, data); err != nil {
			return err
		}
	}
	j := a.job
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ending != "" {
		return context.Canceled
	}
	outs := a.node.outs[event]
	if limit := j.e.opts.MaxQueuedBytes; limit > 0 && len(outs) > 0 {
		if held := j.queuedBytes + size + activationCost*int64(len(outs)); held > limit {
			err := &QueueFullError{Held: held, Limit: limit}
			j.endLocked(events.StatusFailed, fmt.Sprintf("routine %q emitted %s: %v", a.RoutineID, event, err))
			return err
		}
	}
	a.emitted++
	a.output = data
	st := j.state.RoutineStates[a.RoutineID]
	if st.Emitted == nil {
		st.Emitted = make(map[string]int, len(a.node.events))
	}
	st.Emitted[event]++
	a.children += len(outs)
	j.publishLocked(&events.Event{Type: events.EventEmit, RoutineID: a.RoutineID, ActivationID: a.ID, Event: event, Data: data,
		Targets: len(outs), Bytes: size})
	source := a.RoutineID + "." + event
	for i, t := range outs {
		cost := int64(activationCost) // the targets share the payload: the first carries it
		if i == 0 {
			cost += size
		}
		j.enqueueLocked(&Activation{
			ParentID: a.ID, Depth: a.Depth + 1, RoutineID: t.node.id, Slot: t.slot,
			Data: mapParams(data, t.mapping), node: t.node, job: j, Source: source, cost: cost, dataBytes: size,
		})
	}
	j.spawnLocked()
	return nil
}

// run calls the runner, turning a panic into an error that names the routine.
func (a *Activation) run(ctx context.Context) (err error) {
	defer func() {
		if p := recover(); p != nil {
			a.job.e.opts.Logger.Error("routine panicked", "job", a.JobID(), "routine", a.RoutineID, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("routine %q panicked: %v", a.RoutineID, p)
		}
	}()
	return a.node.runner.Run(ctx, a)
}
