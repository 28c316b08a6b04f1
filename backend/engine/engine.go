// Package engine runs jobs: it dispatches activations of a compiled flow on a
// bounded worker pool, applies error policies, and implements pause, resume,
// cancel and timeouts. Every state change is published to a Sink as an
// events.Event with a per-job gap-free seq. It knows nothing of HTTP or SQL.
package engine

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/flow"
)

// Sink receives every event in seq order per job. Publish is called with the
// job's lock held, so it must be quick and must never block.
type Sink interface {
	Publish(ev *events.Event)
}

// Hooks let a debugger watch a job's activations and stop them. The engine
// calls BeforeActivation at most once per activation and BeforeEmit before
// every emit; either may block until released (it must return when ctx is
// done) after calling Activation.Park, so that a held activation does not
// count as running and the job can still be paused or cancelled around it.
// JobStarting runs before a job's first activation is queued; the fields it
// returns are recorded in the job_started event's data. JobEnded runs once
// its terminal event is published (with the job's lock held: it must not call
// back into the job).
type Hooks interface {
	JobStarting(j StartedJob) map[string]any
	// JobRestored runs when a job the process was running when it last
	// stopped continues (Engine.Restore), before its activations are queued.
	JobRestored(j StartedJob)
	BeforeActivation(ctx context.Context, a *Activation) error
	// BeforeEmit returns the data to emit (the debugger may have changed it).
	BeforeEmit(ctx context.Context, a *Activation, event string, data any) (any, error)
	AfterActivation(a *Activation)
	JobEnded(jobID string)
}

// StartedJob describes a job to the hooks as it starts.
type StartedJob struct {
	JobID       string
	Plan        *Plan
	StopOnEntry bool
}

// Options tune an engine. Zero values take defaults.
type Options struct {
	// MaxConcurrent bounds activations running at once over all jobs.
	MaxConcurrent int
	// MaxActivations fails a job that queues more activations than this,
	// a last guard against runaway loops.
	MaxActivations int64
	Hooks          Hooks
	// Observer, if set, is told of job starts and ends and of every
	// activation's end (metrics). Its methods must be quick: they run on
	// the engine's goroutines, some with a job's lock held.
	Observer Observer
	Logger   *slog.Logger
	// Throttle, if set, runs before every activation and may block: the
	// server has it wait while the event log is too far behind, so jobs
	// that produce events faster than they are stored slow down instead
	// of queueing events in memory without bound. An error (the job's
	// context ending) stops the activation as a cancel would.
	Throttle func(ctx context.Context) error
	// MaxOutputBytes bounds one emitted value, as JSON: an Emit over it
	// fails the activation (its error policy applies). 0 means
	// DefaultMaxOutputBytes; negative, no limit.
	MaxOutputBytes int64
	// MaxQueuedBytes bounds what one job holds in its queue: the payloads of
	// the activations waiting to run (as JSON) plus a little for each. A
	// job past it fails ("a flow multiplying its data?") instead of the
	// server growing. 0 means DefaultMaxQueuedBytes; negative, no limit.
	MaxQueuedBytes int64
}

// DefaultMaxOutputBytes is the default bound of one emitted value.
const DefaultMaxOutputBytes = 1 << 20

// DefaultMaxQueuedBytes is the default bound of what one job holds queued.
const DefaultMaxQueuedBytes = 128 << 20

// Observer watches the engine's work.
type Observer interface {
	JobStarted(flowID string)
	JobEnded(flowID, status string)
	// ActivationEnded reports an activation of a routine kind: how long it
	// ran (retries included) and whether it failed.
	ActivationEnded(kind string, took time.Duration, failed bool)
}

// Errors returned by job control.
var (
	ErrJobNotActive = errors.New("job is not active")
	ErrConflict     = errors.New("job state conflict")
	ErrShuttingDown = errors.New("engine is shutting down")
)

// Engine runs jobs. It is safe for concurrent use.
type Engine struct {
	reg   *Registry
	sink  Sink
	opts  Options
	slots chan struct{} // global bound on running activations

	server atomic.Pointer[string] // job.server of expressions (SetServerURL)

	mu      sync.RWMutex
	jobs    map[string]*job
	plans   map[string]*Plan
	closing bool
}

// New returns an engine running kinds from reg and publishing to sink.
func New(reg *Registry, sink Sink, opts Options) *Engine {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 256
	}
	if opts.MaxActivations <= 0 {
		opts.MaxActivations = 1_000_000
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxQueuedBytes == 0 {
		opts.MaxQueuedBytes = DefaultMaxQueuedBytes
	}
	if opts.MaxOutputBytes == 0 {
		opts.MaxOutputBytes = DefaultMaxOutputBytes
	}
	return &Engine{
		reg:   reg,
		sink:  sink,
		opts:  opts,
		slots: make(chan struct{}, opts.MaxConcurrent),
		jobs:  map[string]*job{},
		plans: map[string]*Plan{},
	}
}

// SetServerURL sets what expressions see as job.server: the base URL the
// server answers at (e.g. http://127.0.0.1:20555), so a flow can call its
// own server's API whatever port it was started on.
func (e *Engine) SetServerURL(url string) { e.server.Store(&url) }

func (e *Engine) serverURL() string {
	if u := e.server.Load(); u != nil {
		return *u
	}
	return ""
}

// Registry returns the engine's catalogue.
func (e *Engine) Registry() *Registry { return e.reg }

// StartRequest describes a job to start.
type StartRequest struct {
	Flow           *flow.Flow // the flow version to run
	EntryRoutineID string
	Params         any
	// StopOnEntry asks the debugger (the hooks) to pause before the first
	// activation.
	StopOnEntry bool
}

// Started is a job just started: its state at start, and its end to wait
// for.
type Started struct {
	events.JobState
	job *job
}

// Wait waits until the job ends and returns the state it ended with, even
// if it ended before the call; the error is ctx's, if it ends first.
func (s Started) Wait(ctx context.Context) (events.JobState, error) {
	select {
	case <-s.job.done:
		return s.job.final, nil
	case <-ctx.Done():
		return events.JobState{}, ctx.Err()
	}
}

// Start creates and starts a job and returns its state at start.
func (e *Engine) Start(req StartRequest) (Started, error) {
	plan, err := e.Plan(req.Flow)
	if err != nil {
		return Started{}, err
	}
	entry, slot, err := plan.entry(req.EntryRoutineID)
	if err != nil {
		return Started{}, err
	}
	j := newJob(e, plan, newJobID(), entry.id, req.Params)
	e.mu.Lock()
	if e.closing {
		e.mu.Unlock()
		return Started{}, ErrShuttingDown
	}
	e.jobs[j.state.JobID] = j
	e.mu.Unlock()
	var startData map[string]any
	if h := e.opts.Hooks; h != nil {
		startData = h.JobStarting(StartedJob{JobID: j.state.JobID, Plan: plan, StopOnEntry: req.StopOnEntry})
	}
	js := j.start(entry, slot, startData)
	if o := e.opts.Observer; o != nil {
		o.JobStarted(plan.Flow.ID)
	}
	return Started{JobState: js, job: j}, nil
}

// Plan compiles a flow version, cached by flow id and version.
func (e *Engine) Plan(f *flow.Flow) (*Plan, error) {
	key := f.ID + "@" + strconv.Itoa(f.Version)
	if f.Version > 0 {
		e.mu.RLock()
		p, ok := e.plans[key]
		e.mu.RUnlock()
		if ok {
			return p, nil
		}
	}
	p, err := e.reg.Compile(f)
	if err != nil || f.Version == 0 {
		return p, err
	}
	e.mu.Lock()
	if len(e.plans) > 4096 { // flows are few; this only bounds pathological churn
		clear(e.plans)
	}
	e.plans[key] = p
	e.mu.Unlock()
	return p, nil
}

// Job returns the live state of an active job.
func (e *Engine) Job(id string) (events.JobState, bool) {
	j := e.job(id)
	if j == nil {
		return events.JobState{}, false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.snapshotLocked(true), true
}

// Active lists the states of all active jobs, without routine states.
func (e *Engine) Active() []events.JobState {
	e.mu.RLock()
	list := make([]*job, 0, len(e.jobs))
	for _, j := range e.jobs {
		list = append(list, j)
	}
	e.mu.RUnlock()
	out := make([]events.JobState, 0, len(list))
	for _, j := range list {
		j.mu.Lock()
		out = append(out, j.snapshotLocked(false))
		j.mu.Unlock()
	}
	return out
}

// closed is returned by Done for jobs that are not active.
var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Done returns a channel closed when the job ends; for a job that is not
// active (already ended, or unknown) it is closed already.
func (e *Engine) Done(id string) <-chan struct{} {
	if j := e.job(id); j != nil {
		return j.done
	}
	return closed
}

// Pause stops dispatching new activations; the job becomes paused once the
// running ones finish.
func (e *Engine) Pause(id string) (events.JobState, error) {
	return e.control(id, (*job).pauseLocked)
}

// Resume continues a paused (or pausing) job where it stopped.
func (e *Engine) Resume(id string) (events.JobState, error) {
	return e.control(id, (*job).resumeLocked)
}

// Cancel stops a job: running activations see their context cancelled.
func (e *Engine) Cancel(id string) (events.JobState, error) {
	return e.control(id, func(j *job) error {
		j.endLocked(events.StatusCancelled, "cancelled")
		return nil
	})
}

func (e *Engine) control(id string, op func(*job) error) (events.JobState, error) {
	j := e.job(id)
	if j == nil {
		return events.JobState{}, ErrJobNotActive
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ending != "" {
		return j.snapshotLocked(true), fmt.Errorf("%w: job is ending (%s)", ErrConflict, j.ending)
	}
	if err := op(j); err != nil {
		return j.snapshotLocked(true), err
	}
	return j.snapshotLocked(true), nil
}

// Shutdown fails every active job as interrupted and waits for them to end.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.closing = true
	list := make([]*job, 0, len(e.jobs))
	for _, j := range e.jobs {
		list = append(list, j)
	}
	e.mu.Unlock()
	for _, j := range list {
		j.mu.Lock()
		j.endLocked(events.StatusFailed, "interrupted: server shut down")
		j.mu.Unlock()
	}
	for _, j := range list {
		select {
		case <-j.done:
		case <-ctx.Done():
			return fmt.Errorf("engine shutdown: %w", ctx.Err())
		}
	}
	return nil
}

func (e *Engine) job(id string) *job {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.jobs[id]
}

func (e *Engine) forget(id string) {
	e.mu.Lock()
	delete(e.jobs, id)
	e.mu.Unlock()
}

// newJobID returns "job_" + 12 hex digits of milliseconds + 8 hex digits
// counted up within the millisecond (jobIDs), so ids sort by creation.
func newJobID() string {
	ms := time.Now().UnixMilli()
	jobIDs.Lock()
	if ms > jobIDs.ms {
		var b [4]byte
		_, _ = rand.Read(b[:])
		// A random start in the lower half leaves 2^31 ids to count up.
		jobIDs.ms, jobIDs.n = ms, binary.BigEndian.Uint32(b[:])>>1
	} else if jobIDs.n++; jobIDs.n == 0 {
		jobIDs.ms++
	}
	ms, n := jobIDs.ms, jobIDs.n
	jobIDs.Unlock()
	return fmt.Sprintf("job_%012x%08x", ms, n)
}

// jobIDs is the last job id handed out. Within one millisecond ids count
// up from a random start, so they sort in the order the jobs were made:
// "newest first" and retention's "keep the newest" go by id.
var jobIDs struct {
	sync.Mutex
	ms int64
	n  uint32
}
