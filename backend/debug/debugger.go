// Package debug is Switchyard's debugger: persisted breakpoints (conditional,
// with hit conditions, or logpoints) on flows and jobs, stops before
// activations and emits, stepping along the causal chain of activations,
// variables, evaluate, and stop_on_entry. It implements engine.Hooks; jobs
// nobody debugs cost one map lookup per activation.
package debug

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/flow"
	"github.com/switchyard/switchyard/backend/store"
)

// Store keeps breakpoints and their hit counts, and reads the job
// records and logs the debugger looks back at.
type Store interface {
	PutBreakpoints(ctx context.Context, bps []store.Breakpoint) error
	Breakpoints(ctx context.Context, scope, scopeID string) ([]store.Breakpoint, error)
	DeleteBreakpoint(ctx context.Context, id string) error
	GetFlow(ctx context.Context, id string, version int) (*flow.Flow, error)
	GetJob(ctx context.Context, id string) (events.JobState, error)
	Events(ctx context.Context, jobID string, since int64, limit int) ([]events.Event, error)
}

// Engine is what the debugger needs of the engine besides the hooks.
type Engine interface {
	Job(id string) (events.JobState, bool)
	Plan(f *flow.Flow) (*engine.Plan, error)
}

// Ancestry rebuilds call stack frames of a job's activations from its
// event log: the activation with the given id, then its parent, … up to
// the entry, at most max frames. Without one (nil), call stacks have only
// the stopped activation's frame.
type Ancestry interface {
	Frames(ctx context.Context, jobID string, activationID int64, max int) ([]Frame, error)
}

// Options tune the debugger. Zero values take defaults.
type Options struct {
	EvalTimeout   time.Duration // evaluate's time limit [100ms]
	FlushInterval time.Duration // how often hit counts are stored [1s]
	MaxFrames     int           // call stack frames returned [1000]
	// MaxBreakpoints bounds the breakpoints of one flow or job [1000]: each
	// is checked at every activation of its routine, and a flow's are
	// copied into each of its jobs.
	MaxBreakpoints int
	Logger         *slog.Logger
}

// Debugger implements engine.Hooks and the debugger's API.
type Debugger struct {
	store    Store
	ancestry Ancestry
	opts     Options
	eng      Engine // set by Attach: the engine is built with the debugger as its hooks

	// mu guards writes of sessions and flowBPs, and sessions' bps lists. It
	// is taken with a job's lock held (JobEnded), so it is never held while
	// calling the engine.
	mu       sync.Mutex
	sessions atomic.Pointer[map[string]*session] // active jobs being debugged; copy on write
	flowBPs  map[string][]*compiled              // flow id → its breakpoints

	flushMu  sync.Mutex // orders flushes and deletions, so a flush never revives a deleted copy
	dirtyMu  sync.Mutex
	dirty    map[string]*compiled // breakpoints hit since the last flush
	stop     chan struct{}
	stopOnce sync.Once
	stopped  sync.WaitGroup
}

// New loads the flow breakpoints and starts the hit count flusher. Attach
// the engine before the first job starts.
func New(ctx context.Context, st Store, ancestry Ancestry, opts Options) (*Debugger, error) {
	if opts.EvalTimeout <= 0 {
		opts.EvalTimeout = 100 * time.Millisecond
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	if opts.MaxFrames <= 0 {
		opts.MaxFrames = 1000
	}
	if opts.MaxBreakpoints <= 0 {
		opts.MaxBreakpoints = 1000
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	d := &Debugger{store: st, ancestry: ancestry, opts: opts, flowBPs: map[string][]*compiled{},
		dirty: map[string]*compiled{}, stop: make(chan struct{})}
	d.sessions.Store(&map[string]*session{})
	recs, err := st.Breakpoints(ctx, store.ScopeFlow, "")
	if err != nil {
		return nil, fmt.Errorf("load flow breakpoints: %w", err)
	}
	for _, rec := range recs {
		c, err := compile(rec)
		if err != nil { // stored ones compiled when created; an expression language change could break one
			opts.Logger.Warn("flow breakpoint no longer compiles; ignored", "breakpoint", rec.ID, "err", err)
			continue
		}
		d.flowBPs[rec.ScopeID] = append(d.flowBPs[rec.ScopeID], c)
	}
	d.stopped.Add(1)
	go d.flusher()
	return d, nil
}

// Attach gives the debugger the engine whose hooks it is.
func (d *Debugger) Attach(e Engine) { d.eng = e }

// Close stores the last hit counts.
func (d *Debugger) Close() error {
	d.stopOnce.Do(func() { close(d.stop) })
	d.stopped.Wait()
	ctx, cancel := storeCtx()
	defer cancel()
	return d.Flush(ctx)
}

func (d *Debugger) flusher() {
	defer d.stopped.Done()
	t := time.NewTicker(d.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			ctx, cancel := storeCtx()
			if err := d.Flush(ctx); err != nil {
				d.opts.Logger.Warn("store breakpoint hit counts", "err", err)
			}
			cancel()
		}
	}
}

// Flush stores the hit counts counted since the last flush (a job's copy
// of a flow breakpoint gets its row with its first hit).
func (d *Debugger) Flush(ctx context.Context) error {
	d.flushMu.Lock()
	defer d.flushMu.Unlock()
	d.dirtyMu.Lock()
	hit := d.dirty
	d.dirty = map[string]*compiled{}
	d.dirtyMu.Unlock()
	recs := make([]store.Breakpoint, 0, len(hit))
	for _, c := range hit {
		rec := c.rec
		rec.HitCount = c.hits.Load()
		recs = append(recs, rec)
	}
	if err := d.store.PutBreakpoints(ctx, recs); err != nil {
		d.dirtyMu.Lock()
		for id, c := range hit { // for the next try, unless hit again meanwhile
			if _, newer := d.dirty[id]; !newer {
				d.dirty[id] = c
			}
		}
		d.dirtyMu.Unlock()
		return fmt.Errorf("store breakpoint hit counts: %w", err)
	}
	return nil
}

func (d *Debugger) countHit(c *compiled) int64 {
	n := c.hits.Add(1)
	d.dirtyMu.Lock()
	d.dirty[c.rec.ID] = c
	d.dirtyMu.Unlock()
	return n
}

// session returns the debug session of an active job, or nil: the hooks'
// fast path for jobs nobody debugs.
func (d *Debugger) session(jobID string) *session {
	m := *d.sessions.Load()
	if len(m) == 0 {
		return nil
	}
	return m[jobID]
}

// setSession adds (s non-nil) or removes the session of a job; d.mu held.
func (d *Debugger) setSessionLocked(jobID string, s *session) {
	old := *d.sessions.Load()
	next := make(map[string]*session, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	if s == nil {
		delete(next, jobID)
	} else {
		next[jobID] = s
	}
	d.sessions.Store(&next)
}

// JobStarting copies the flow's breakpoints into the new job and arms
// stop_on_entry, before the first activation is queued. The copies are
// recorded in the job's job_started event rather than as rows: a row per
// breakpoint per job would cost more than the job. A copy gets a row once
// it is hit or changed.
func (d *Debugger) JobStarting(j engine.StartedJob) map[string]any {
	d.mu.Lock()
	flowBPs := d.flowBPs[j.Plan.Flow.ID]
	d.mu.Unlock()
	if len(flowBPs) == 0 && !j.StopOnEntry {
		return nil
	}
	s := newSession(d, j.JobID, j.Plan)
	if j.StopOnEntry {
		s.step = step{mode: stepNext}
	}
	record := []byte{'['}
	now := time.Now().UTC()
	for _, fb := range flowBPs {
		rec := fb.rec
		rec.ID, rec.Scope, rec.ScopeID, rec.InheritedFrom = newID("bp_"), store.ScopeJob, j.JobID, fb.rec.ID
		rec.HitCount, rec.CreatedAt = 0, now
		if err := checkPorts(rec, j.Plan); err != nil {
			d.opts.Logger.Warn("flow breakpoint not copied: the job's flow version lacks its routine", "breakpoint", fb.rec.ID, "job", j.JobID, "err", err)
			continue
		}
		s.bps = append(s.bps, fb.copyAs(rec))
		if len(record) > 1 {
			record = append(record, ',')
		}
		record = appendRecord(record, rec.ID, fb)
	}
	s.publishBPs()
	d.mu.Lock()
	d.setSessionLocked(j.JobID, s)
	d.mu.Unlock()
	if len(s.bps) == 0 {
		return nil
	}
	return map[string]any{inheritedKey: json.RawMessage(append(record, ']'))}
}

// JobRestored gives a job that continues after a restart its breakpoints
// back, as the store has them (hit counts included). A breakpoint that no
// longer compiles is left out, with a warning.
func (d *Debugger) JobRestored(j engine.StartedJob) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	recs, err := d.storedJobRecords(ctx, j.JobID)
	if err != nil {
		d.opts.Logger.Warn("restored job: its breakpoints could not be read", "job", j.JobID, "err", err)
		return
	}
	if len(recs) == 0 {
		return
	}
	s := newSession(d, j.JobID, j.Plan)
	for _, rec := range recs {
		c, err := compile(rec)
		if err != nil {
			d.opts.Logger.Warn("restored job: breakpoint left out", "job", j.JobID, "breakpoint", rec.ID, "err", err)
			continue
		}
		s.bps = append(s.bps, c)
	}
	s.publishBPs()
	d.mu.Lock()
	d.setSessionLocked(j.JobID, s)
	d.mu.Unlock()
}

// JobEnded forgets the job's session. It runs with the job's lock held, so
// it touches nothing of the job.
func (d *Debugger) JobEnded(jobID string) {
	if d.session(jobID) == nil {
		return
	}
	d.mu.Lock()
	d.setSessionLocked(jobID, nil)
	d.mu.Unlock()
}

// BeforeActivation checks breakpoints and the step in progress, and holds
// the activation if either stops it.
func (d *Debugger) BeforeActivation(ctx context.Context, a *engine.Activation) error {
	s := d.session(a.JobID())
	if s == nil {
		return nil
	}
	st := s.check(ctx, a, "", a.Data)
	if st == nil {
		return nil
	}
	return s.hold(ctx, st)
}

// BeforeEmit checks event breakpoints; a stop may change the data emitted.
func (d *Debugger) BeforeEmit(ctx context.Context, a *engine.Activation, event string, data any) (any, error) {
	s := d.session(a.JobID())
	if s == nil {
		return data, nil
	}
	st := s.check(ctx, a, event, data)
	if st == nil {
		return data, nil
	}
	if err := s.hold(ctx, st); err != nil {
		return nil, err
	}
	return st.data, nil
}

// AfterActivation lets a step follow the activation's descendants.
func (d *Debugger) AfterActivation(a *engine.Activation) {
	if s := d.session(a.JobID()); s != nil {
		s.finished(a)
	}
}

// scope resolves a breakpoint scope: the plan breakpoints are checked
// against and, for an active job, its session (created if needed).
func (d *Debugger) scope(ctx context.Context, scope, id string, create bool) (*engine.Plan, *session, error) {
	if scope == store.ScopeFlow {
		f, err := d.store.GetFlow(ctx, id, 0)
		if err != nil {
			return nil, nil, d.notFound(err, ErrFlowNotFound, "flow", id)
		}
		p, err := d.eng.Plan(f)
		if err != nil {
			return nil, nil, fmt.Errorf("compile flow %s: %w", id, err)
		}
		return p, nil, nil
	}
	if s := d.session(id); s != nil {
		return s.plan, s, nil
	}
	js, live := d.eng.Job(id)
	if !live {
		stored, err := d.store.GetJob(ctx, id)
		if err != nil {
			return nil, nil, d.notFound(err, ErrJobNotFound, "job", id)
		}
		if !create {
			return nil, nil, nil // a finished job: its breakpoints are in the store
		}
		return nil, nil, fmt.Errorf("%w: job %s is %s; breakpoints can only be set on an active job", ErrJobFinished, id, stored.Status)
	}
	if !create {
		return nil, nil, nil // active, debugged by nobody: no breakpoints
	}
	f, err := d.store.GetFlow(ctx, js.FlowID, js.FlowVersion)
	if err != nil {
		return nil, nil, fmt.Errorf("load flow %s version %d of job %s: %w", js.FlowID, js.FlowVersion, id, err)
	}
	p, err := d.eng.Plan(f)
	if err != nil {
		return nil, nil, fmt.Errorf("compile flow of job %s: %w", id, err)
	}
	d.mu.Lock()
	if s := d.session(id); s != nil {
		d.mu.Unlock()
		return s.plan, s, nil
	}
	s := newSession(d, id, p)
	s.publishBPs()
	d.setSessionLocked(id, s)
	d.mu.Unlock()
	// Checked once the session is visible, and without d.mu (JobEnded takes
	// it with the job's lock held): a job that ended before it saw the
	// session is found ended here.
	if _, live := d.eng.Job(id); !live {
		d.mu.Lock()
		if d.session(id) == s {
			d.setSessionLocked(id, nil)
		}
		d.mu.Unlock()
		return nil, nil, fmt.Errorf("%w: job %s has just ended", ErrJobFinished, id)
	}
	return p, s, nil
}

func (d *Debugger) notFound(err, sentinel error, what, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %s %q", sentinel, what, id)
	}
	return fmt.Errorf("load %s %s: %w", what, id, err)
}

// CreateBreakpoint adds a breakpoint to a job (scope "job") or a flow.
func (d *Debugger) CreateBreakpoint(ctx context.Context, scope, id string, in BreakpointInput) (Breakpoint, error) {
	plan, s, err := d.scope(ctx, scope, id, true)
	if err != nil {
		return Breakpoint{}, err
	}
	rec, err := newRecord(in, plan, scope, id)
	if err != nil {
		return Breakpoint{}, err
	}
	c, err := compile(rec)
	if err != nil {
		return Breakpoint{}, err
	}
	d.mu.Lock()
	n := len(d.listLocked(scope, id, s))
	d.mu.Unlock()
	if n >= d.opts.MaxBreakpoints {
		return Breakpoint{}, fmt.Errorf("%w: %s %s has %d breakpoints, the most there can be", ErrTooMany, scope, id, n)
	}
	if err := d.store.PutBreakpoints(ctx, []store.Breakpoint{rec}); err != nil {
		return Breakpoint{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if s != nil {
		s.bps = append(s.bps, c)
		s.publishBPs()
	} else {
		d.flowBPs[id] = append(d.flowBPs[id], c)
	}
	return c.view(), nil
}

// Breakpoints lists a job's or a flow's breakpoints.
func (d *Debugger) Breakpoints(ctx context.Context, scope, id string) ([]Breakpoint, error) {
	_, s, err := d.scope(ctx, scope, id, false)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	list := d.listLocked(scope, id, s)
	d.mu.Unlock()
	if list != nil || scope == store.ScopeFlow {
		return views(list), nil
	}
	return d.storedJobBreakpoints(ctx, id)
}

// listLocked is the in-memory list of a scope: a flow's, or an active
// debugged job's (nil otherwise).
func (d *Debugger) listLocked(scope, id string, s *session) []*compiled {
	if scope == store.ScopeFlow {
		return d.flowBPs[id]
	}
	if s != nil {
		return s.bps
	}
	return nil
}

func views(list []*compiled) []Breakpoint {
	out := make([]Breakpoint, len(list))
	for i, c := range list {
		out[i] = c.view()
	}
	return out
}

// UpdateBreakpoint edits a breakpoint of an active job or of a flow.
func (d *Debugger) UpdateBreakpoint(ctx context.Context, scope, id, bpID string, p BreakpointPatch) (Breakpoint, error) {
	_, s, err := d.scope(ctx, scope, id, true)
	if err != nil {
		return Breakpoint{}, err
	}
	d.mu.Lock()
	list := d.listLocked(scope, id, s)
	i := slices.IndexFunc(list, func(c *compiled) bool { return c.rec.ID == bpID })
	if i < 0 {
		d.mu.Unlock()
		return Breakpoint{}, fmt.Errorf("%w: %s has no breakpoint %q", ErrBreakpointNotFound, id, bpID)
	}
	old := list[i]
	d.mu.Unlock()
	rec := old.rec
	if p.Enabled != nil {
		rec.Enabled = *p.Enabled
	}
	if p.Condition != nil {
		rec.Condition = deref(p.Condition)
	}
	if p.HitCondition != nil {
		rec.HitCondition = deref(p.HitCondition)
	}
	if p.LogMessage != nil {
		rec.LogMessage = deref(p.LogMessage)
	}
	c, err := old.withRecord(rec)
	if err != nil {
		return Breakpoint{}, err
	}
	rec.HitCount = old.hits.Load()
	if err := d.store.PutBreakpoints(ctx, []store.Breakpoint{rec}); err != nil {
		return Breakpoint{}, err
	}
	d.replace(scope, id, s, bpID, c)
	return c.view(), nil
}

// DeleteBreakpoint removes a breakpoint of an active job or of a flow.
func (d *Debugger) DeleteBreakpoint(ctx context.Context, scope, id, bpID string) error {
	_, s, err := d.scope(ctx, scope, id, true)
	if err != nil {
		return err
	}
	d.mu.Lock()
	list := d.listLocked(scope, id, s)
	i := slices.IndexFunc(list, func(c *compiled) bool { return c.rec.ID == bpID })
	var c *compiled
	if i >= 0 {
		c = list[i]
	}
	d.mu.Unlock()
	if c == nil {
		return fmt.Errorf("%w: %s has no breakpoint %q", ErrBreakpointNotFound, id, bpID)
	}
	d.replace(scope, id, s, bpID, nil) // no more hits from here on
	return d.forget(ctx, c)
}

// forget deletes a breakpoint from the store; a job's copy of a flow
// breakpoint is marked deleted instead, since the job's record lists it.
func (d *Debugger) forget(ctx context.Context, c *compiled) error {
	d.flushMu.Lock()
	defer d.flushMu.Unlock()
	d.dirtyMu.Lock()
	delete(d.dirty, c.rec.ID)
	d.dirtyMu.Unlock()
	if c.rec.InheritedFrom == "" {
		err := d.store.DeleteBreakpoint(ctx, c.rec.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil // deleted meanwhile
		}
		return err
	}
	rec := c.rec
	rec.Deleted, rec.HitCount = true, c.hits.Load()
	return d.store.PutBreakpoints(ctx, []store.Breakpoint{rec})
}

// replace swaps (c non-nil) or removes a breakpoint in its in-memory list.
func (d *Debugger) replace(scope, id string, s *session, bpID string, c *compiled) {
	d.mu.Lock()
	defer d.mu.Unlock()
	list := slices.Clone(d.listLocked(scope, id, s))
	i := slices.IndexFunc(list, func(x *compiled) bool { return x.rec.ID == bpID })
	if i < 0 {
		return
	}
	if c != nil {
		list[i] = c
	} else {
		list = slices.Delete(list, i, i+1)
	}
	if s != nil {
		s.bps = list
		s.publishBPs()
	} else {
		d.flowBPs[id] = list
	}
}
