package debug

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
)

// Step modes, as breakpoint_resumed reports them.
const (
	StepContinue = "continue"
	StepOver     = "over"
	StepInto     = "into"
	StepOut      = "out"
)

// stepNext is the internal mode "stop at the very next activation": stop on
// entry, and a step into an activation that caused nothing.
const stepNext = "next"

// session is the debugger's state of one active job: its breakpoints, the
// stop presented to operators, stops waiting behind it, and the step in
// progress.
type session struct {
	d     *Debugger
	jobID string
	plan  *engine.Plan

	bps     []*compiled                 // guarded by d.mu; readers use active
	active  atomic.Pointer[[]*compiled] // what the hooks check, replaced on every change
	mu      sync.Mutex
	current *stop   // the stop operators see and step from
	waiting []*stop // stops of other activations (concurrent flows), in arrival order
	step    step
	pauses  int // pause ids handed out
}

func newSession(d *Debugger, jobID string, plan *engine.Plan) *session {
	return &session{d: d, jobID: jobID, plan: plan}
}

// publishBPs makes the hooks see the current list; d.mu held (or the
// session not yet visible).
func (s *session) publishBPs() {
	list := s.bps
	s.active.Store(&list)
}

// step is a step in progress: where it started and, for over, the
// activations descending from there that are still running or have
// children yet to start (the frontier; finished branches are dropped).
type step struct {
	mode  string
	ref   int64 // the activation stepped from
	depth int   // its depth
	desc  map[int64]*branch
}

type branch struct {
	running bool
	pending int // children queued but not started (negative until the parent's end is counted)
}

// stop is one activation held by the debugger, before it runs or before
// one of its emits.
type stop struct {
	a       *engine.Activation
	bp      *compiled // nil for a step stop
	event   string    // the emit held ("" before the activation runs)
	data    any       // an event stop's data to emit (editable)
	at      *events.PausedAt
	release chan struct{}
}

// input is the frame's data: what arrived at the slot, or what is about to
// be emitted.
func (st *stop) input() any {
	if st.event != "" {
		return st.data
	}
	return st.a.Data
}

func (st *stop) kind() string {
	if st.bp == nil {
		return TypeStep
	}
	return st.bp.rec.Type
}

// check runs the breakpoints (counting hits, writing logpoints) and the step
// in progress against an activation (event "") or an emit, and returns the
// stop to hold, or nil.
func (s *session) check(ctx context.Context, a *engine.Activation, event string, data any) *stop {
	var hit *compiled
	var env map[string]any
	for _, c := range *s.active.Load() {
		if !c.appliesTo(a, event) {
			continue
		}
		if env == nil {
			env = a.Env()
			env["data"] = data
		}
		if !s.matches(ctx, c, a, env) {
			continue
		}
		n := s.d.countHit(c)
		if !c.hitCond.stops(n) {
			continue
		}
		if c.logTmpl != nil {
			s.logpoint(c, a, env)
			continue
		}
		if hit == nil {
			hit = c
		}
	}
	stepStops := event == "" && s.stepStops(a)
	if hit == nil && !stepStops {
		return nil
	}
	return &stop{a: a, bp: hit, event: event, data: data, release: make(chan struct{})}
}

// matches evaluates a condition (within the evaluate time limit); one
// failing at run time counts as not matching and is reported once per
// breakpoint.
func (s *session) matches(ctx context.Context, c *compiled, a *engine.Activation, env map[string]any) bool {
	if c.condition == nil {
		return true
	}
	v, err := c.condition.EvalBounded(ctx, s.d.opts.EvalTimeout, env)
	if err == nil {
		if b, ok := v.(bool); ok {
			return b
		}
		err = fmt.Errorf("result is %s, not a boolean", typeName(v))
	}
	if c.warned.CompareAndSwap(false, true) {
		a.Log("warning", fmt.Sprintf("breakpoint %s: condition %q failed, counted as not matching (reported once): %v", c.rec.ID, c.rec.Condition, err))
	}
	return false
}

func (s *session) logpoint(c *compiled, a *engine.Activation, env map[string]any) {
	text, err := c.logTmpl.Render(env)
	if err != nil {
		text = fmt.Sprintf("logpoint %s: %v", c.rec.ID, err)
	}
	a.Log("info", text)
}

// stepStops applies the step in progress to an activation about to run.
func (s *session) stepStops(a *engine.Activation) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.step
	switch st.mode {
	case stepNext:
		return true
	case StepInto:
		return a.ParentID == st.ref
	case StepOut:
		return a.Depth < st.depth
	case StepOver:
		p, descends := st.desc[a.ParentID]
		if !descends {
			return true
		}
		p.pending--
		st.prune(a.ParentID, p)
		st.desc[a.ID] = &branch{running: true}
		return false
	}
	return false
}

// finished follows the step past an activation's end.
func (s *session) finished(a *engine.Activation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.step
	switch st.mode {
	case StepInto:
		if a.ID == st.ref && a.Children() == 0 {
			st.mode = stepNext // it caused nothing to step into: stop at whatever runs next
		}
	case StepOver:
		if b, ok := st.desc[a.ID]; ok {
			b.running = false
			b.pending += a.Children()
			st.prune(a.ID, b)
		}
	}
}

func (st *step) prune(id int64, b *branch) {
	if !b.running && b.pending == 0 {
		delete(st.desc, id)
	}
}

// hold parks the activation at a stop until an operator resumes it or the
// job ends. The first stop is presented at once; others wait their turn.
func (s *session) hold(ctx context.Context, st *stop) error {
	unpark := st.a.Park()
	defer unpark()
	s.mu.Lock()
	if s.current == nil {
		s.presentLocked(st)
	} else {
		s.waiting = append(s.waiting, st)
	}
	s.mu.Unlock()
	select {
	case <-st.release:
		return nil
	case <-ctx.Done():
		s.drop(st)
		return ctx.Err()
	}
}

// presentLocked makes st the current stop: a breakpoint_hit event, and the
// job paused there. s.mu held.
func (s *session) presentLocked(st *stop) {
	s.pauses++
	s.current = st
	s.step = step{}
	at := &events.PausedAt{Type: st.kind(), ActivationID: st.a.ID, RoutineID: st.a.RoutineID,
		PauseID: fmt.Sprintf("pause_%d", s.pauses), SlotName: optional(st.a.Slot), EventName: optional(st.event)}
	bp := map[string]any{"breakpoint_id": nil, "type": at.Type, "routine_id": at.RoutineID,
		"slot_name": at.SlotName, "event_name": at.EventName}
	if st.bp != nil {
		at.BreakpointID = &st.bp.rec.ID
		bp["breakpoint_id"] = st.bp.rec.ID
	}
	st.at = at
	st.a.Publish(&events.Event{Type: events.BreakpointHit, Slot: st.a.Slot, Event: st.event, Data: map[string]any{
		"breakpoint": bp, "paused_at": at, "pause_id": at.PauseID,
		"variables": map[string]any{"data": st.input(), "shared": st.a.Shared()},
	}})
	st.a.PauseJob(at)
}

// drop forgets a stop whose job is ending.
func (s *session) drop(st *stop) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current == st {
		s.current = nil
	}
	for i, w := range s.waiting {
		if w == st {
			s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
			break
		}
	}
}

// command resumes the current stop with a step mode. pauseID, if given,
// must name the current stop.
func (s *session) command(mode, pauseID string) error {
	s.mu.Lock()
	cur := s.current
	if err := s.checkPauseLocked(pauseID); err != nil {
		s.mu.Unlock()
		return err
	}
	s.step = newStep(mode, cur)
	cur.a.Publish(&events.Event{Type: events.BreakpointResumed, Data: map[string]any{
		"breakpoint_id": cur.at.BreakpointID, "step_mode": mode, "pause_id": cur.at.PauseID,
	}})
	s.current = nil
	if len(s.waiting) > 0 { // a stop that was already waiting is the next one
		next := s.waiting[0]
		s.waiting = s.waiting[1:]
		s.presentLocked(next)
	} else {
		cur.a.ResumeJob()
	}
	s.mu.Unlock()
	close(cur.release)
	return nil
}

func (s *session) checkPauseLocked(pauseID string) error {
	if s.current == nil {
		return notStopped(s.jobID, pauseID)
	}
	if pauseID != "" && pauseID != s.current.at.PauseID {
		return fmt.Errorf("%w: %q was answered already; the job is now at %s", ErrPauseStale, pauseID, s.current.at.PauseID)
	}
	return nil
}

// notStopped is the error of a command on a job that is not stopped: the
// pause it answers, if it names one, is stale (answered by someone else).
func notStopped(jobID, pauseID string) error {
	if pauseID != "" {
		return fmt.Errorf("%w: %q was answered already; job %s is not stopped now", ErrPauseStale, pauseID, jobID)
	}
	return fmt.Errorf("%w: job %s is not stopped at a breakpoint or step", ErrNotPaused, jobID)
}

func newStep(mode string, from *stop) step {
	switch mode {
	case StepInto:
		return step{mode: StepInto, ref: from.a.ID}
	case StepOver:
		return step{mode: StepOver, ref: from.a.ID, desc: map[int64]*branch{from.a.ID: {running: true}}}
	case StepOut:
		return step{mode: StepOut, ref: from.a.ID, depth: from.a.Depth}
	}
	return step{}
}
