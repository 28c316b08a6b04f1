package engine

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/switchyard/switchyard/backend/events"
)

// Activation is one run of a routine for one payload arriving at one slot.
// Parent is the activation whose emit caused this one (nil for the entry),
// so the chain of parents is the debugger's call stack.
type Activation struct {
	ID        int64
	ParentID  int64
	Parent    *Activation
	RoutineID string
	Slot      string
	// Source is the "routine.event" whose emit delivered Data ("" for the
	// entry), so two connections from one routine are told apart.
	Source string
	Data   any

	job     *job
	node    *node
	started time.Time
	emitted int
	output  any
}

// JobID is the id of the activation's job.
func (a *Activation) JobID() string { return a.job.state.JobID }

// FlowID is the id of the job's flow.
func (a *Activation) FlowID() string { return a.job.plan.Flow.ID }

// Kind is the routine's kind.
func (a *Activation) Kind() string { return a.node.kind }

// Params are the job's start parameters.
func (a *Activation) Params() any { return a.job.state.Params }

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
	if h := a.job.e.opts.Hooks; h != nil {
		if err := h.BeforeEmit(ctx, a, event, data); err != nil {
			return err
		}
	}
	j := a.job
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ending != "" {
		return context.Canceled
	}
	a.emitted++
	a.output = data
	j.publishLocked(&events.Event{Type: events.EventEmit, RoutineID: a.RoutineID, ActivationID: a.ID, Event: event, Data: data})
	source := a.RoutineID + "." + event
	for _, t := range a.node.outs[event] {
		j.enqueueLocked(&Activation{
			ParentID: a.ID, Parent: a, RoutineID: t.node.id, Slot: t.slot,
			Data: mapParams(data, t.mapping), node: t.node, job: j, Source: source,
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
