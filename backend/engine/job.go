package engine

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/switchyard/switchyard/backend/events"
)

// job is the live state of one running job. Every field below mu is guarded
// by it; events are published with it held so seq order is publish order.
type job struct {
	e      *Engine
	plan   *Plan
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	env    map[string]any // the "job" variable of expressions
	timer  *time.Timer

	mu             sync.Mutex
	state          events.JobState
	queue          []*Activation // pending activations, FIFO from head
	head           int
	queuedBytes    int64 // what the queued activations cost (Options.MaxQueuedBytes)
	workers        int   // live worker goroutines
	holding        int   // workers parked in a hook (Activation.Park)
	pauseRequested bool
	pauseReason    string           // why, while pauseRequested
	pausedAt       *events.PausedAt // the debugger's position, at a breakpoint pause
	ending         string           // terminal status once decided
	seq            int64
	nextID         int64
	doneRoutines   int
	shared         map[string]any            // replaced, never mutated: readers take the pointer
	private        map[string]map[string]any // per-routine state (merge)
	started        time.Time
	failedRoutine  string // the routine whose failure ended the job
	failType       string
	final          events.JobState // the state it ended with, once done is closed
}

func newJob(e *Engine, plan *Plan, id, entry string, params any) *job {
	ctx, cancel := context.WithCancel(context.Background())
	now := time.Now()
	j := &job{
		e: e, plan: plan, ctx: ctx, cancel: cancel, done: make(chan struct{}),
		shared:  map[string]any{},
		private: map[string]map[string]any{},
		started: now,
	}
	j.env = map[string]any{"id": id, "flow_id": plan.Flow.ID, "params": params, "server": e.serverURL()}
	states := make(map[string]*events.RoutineState, len(plan.routines))
	for rid := range plan.routines {
		states[rid] = &events.RoutineState{Status: events.StatePending}
	}
	j.state = events.JobState{
		JobID: id, FlowID: plan.Flow.ID, FlowVersion: plan.Flow.Version,
		Status: events.StatusRunning, EntryRoutineID: entry, Params: params,
		CreatedAt: now, StartedAt: &now, RoutineStates: states,
	}
	return j
}

// start publishes job_started (with the hooks' fields in its data) and
// queues the entry activation.
func (j *job) start(entry *node, slot string, hookData map[string]any) events.JobState {
	j.mu.Lock()
	defer j.mu.Unlock()
	data := map[string]any{"entry_routine": entry.id, "params": j.state.Params}
	for k, v := range hookData {
		data[k] = v
	}
	j.publishLocked(&events.Event{
		Type: events.JobStarted,
		Data: data,
		Job:  j.startSnapshotLocked(),
		Time: *j.state.StartedAt, // the record's start: the store derives its log line from it
	})
	if t := j.plan.Flow.Timeout(); t > 0 {
		j.timer = time.AfterFunc(t, func() {
			j.mu.Lock()
			defer j.mu.Unlock()
			j.endLocked(events.StatusFailed, fmt.Sprintf("job timed out after %s", t))
		})
	}
	j.enqueueLocked(&Activation{RoutineID: entry.id, Slot: slot, Data: j.state.Params, node: entry, job: j})
	j.spawnLocked()
	return j.snapshotLocked(true)
}

// publishLocked stamps ev with the job's next seq and hands it to the sink.
func (j *job) publishLocked(ev *events.Event) {
	j.seq++
	ev.Seq = j.seq
	ev.JobID = j.state.JobID
	ev.FlowID = j.state.FlowID
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	switch ev.Type {
	case events.RoutineStarted, events.EventEmit, events.Log:
	default:
		ev.Progress = j.state.Progress
	}
	j.state.Events = j.seq
	j.e.sink.Publish(ev)
}

func (j *job) enqueueLocked(a *Activation) {
	j.queuedBytes += a.cost
	j.nextID++
	a.ID = j.nextID
	j.state.Activations = j.nextID
	if j.head > 0 && j.head == len(j.queue) {
		j.queue, j.head = j.queue[:0], 0
	}
	j.queue = append(j.queue, a)
	if j.nextID > j.e.opts.MaxActivations {
		j.endLocked(events.StatusFailed, fmt.Sprintf("job exceeded %d activations (runaway loop?)", j.e.opts.MaxActivations))
	}
}

// requeueFrontLocked puts back an activation that a pause caught before it
// ran, so resume runs it first and exactly once.
func (j *job) requeueFrontLocked(a *Activation) {
	j.queuedBytes += a.cost
	if j.head > 0 {
		j.head--
		j.queue[j.head] = a
		return
	}
	j.queue = append([]*Activation{a}, j.queue...)
}

func (j *job) queuedLocked() int { return len(j.queue) - j.head }

func (j *job) popLocked() *Activation {
	a := j.queue[j.head]
	j.queue[j.head] = nil
	j.head++
	j.queuedBytes -= a.cost
	return a
}

// spawnLocked starts workers for queued activations within the job's limit.
func (j *job) spawnLocked() {
	if j.pauseRequested || j.ending != "" {
		return
	}
	for n := min(j.plan.workers-j.workers, j.queuedLocked()); n > 0; n-- {
		j.workers++
		go j.work()
	}
}

// work runs queued activations until the queue is empty or the job stops
// dispatching (pause, end).
func (j *job) work() {
	for {
		j.mu.Lock()
		if j.pauseRequested || j.ending != "" || j.queuedLocked() == 0 {
			j.workers--
			j.settleLocked()
			j.mu.Unlock()
			return
		}
		a := j.popLocked()
		j.mu.Unlock()
		j.execute(a)
	}
}

// execute runs one activation: hook, global slot, runner with the error policy.
func (j *job) execute(a *Activation) {
	restored := a.resumed || a.interrupted
	if !restored && !j.passHook(a) {
		return
	}
	if t := j.e.opts.Throttle; t != nil && t(j.ctx) != nil {
		return // the job is ending
	}
	select {
	case j.e.slots <- struct{}{}:
	case <-j.ctx.Done():
		return
	}
	defer func() { <-j.e.slots }()

	j.mu.Lock()
	switch {
	case j.ending != "":
		j.mu.Unlock()
		return
	case j.pauseRequested: // paused while in the hook or waiting for a slot: it has not run
		j.requeueFrontLocked(a)
		j.mu.Unlock()
		return
	}
	if restored { // its routine_started is in the log from before the crash
		a.started = time.Now()
	} else {
		j.beginLocked(a)
	}
	j.mu.Unlock()
	var first error
	if a.interrupted {
		first = errInterrupted
	}
	j.runWithPolicy(a, first)
	if o := j.e.opts.Observer; o != nil {
		o.ActivationEnded(a.node.kind, time.Since(a.started), a.failed)
	}
	if h := j.e.opts.Hooks; h != nil {
		h.AfterActivation(a)
	}
}

// passHook lets the debugger see (and hold) a before it runs, once: an
// activation put back by a pause is not shown to it again. It reports
// whether a may go on.
func (j *job) passHook(a *Activation) bool {
	h := j.e.opts.Hooks
	if h == nil || a.hooked {
		return true
	}
	err := h.BeforeActivation(j.ctx, a)
	a.hooked = true
	if err == nil {
		return true
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ending == "" {
		j.endLocked(events.StatusFailed, fmt.Sprintf("routine %q: hook: %v", a.RoutineID, err))
	}
	return false
}

func (j *job) beginLocked(a *Activation) {
	now := time.Now()
	a.started = now
	st := j.state.RoutineStates[a.RoutineID]
	st.Status = events.StateRunning
	st.StartedAt = &now
	st.Activations++
	j.state.CurrentNode = a.RoutineID
	j.publishLocked(&events.Event{
		Type: events.RoutineStarted, RoutineID: a.RoutineID, ActivationID: a.ID,
		ParentID: a.ParentID, Slot: a.Slot, Data: a.Data, Time: now, Bytes: a.dataBytes,
	})
}

// runWithPolicy runs a and applies its routine's error policy; a non-nil
// first is the first attempt's error without running it (an activation a
// crash interrupted).
func (j *job) runWithPolicy(a *Activation, first error) {
	p := a.node.policy
	delay := time.Duration(p.RetryDelay)
	for attempt := 1; ; attempt++ {
		err := first
		if attempt > 1 || first == nil {
			err = a.run(j.ctx)
		}
		if err == nil {
			j.finishActivation(a, nil, false)
			return
		}
		if j.ctx.Err() != nil {
			return // the job is ending; its own event says why
		}
		if p.Strategy == "retry" && attempt <= p.MaxRetries {
			j.mu.Lock()
			j.publishLocked(&events.Event{
				Type: events.RoutineFailed, RoutineID: a.RoutineID, ActivationID: a.ID,
				Slot: a.Slot, Error: err.Error(), ErrorType: errorType(err), Attempt: attempt,
				Status: "retrying",
			})
			j.mu.Unlock()
			if !sleepCtx(j.ctx, delay) {
				return
			}
			delay = time.Duration(float64(delay) * p.RetryBackoff)
			continue
		}
		j.finishActivation(a, err, p.Strategy == "skip")
		if p.Strategy == "skip" && a.node.defaultEvent != "" {
			_ = a.Emit(j.ctx, a.node.defaultEvent, a.Data)
		}
		return
	}
}

// finishActivation records the end of an activation and applies the
// routine's error policy to a failure.
func (j *job) finishActivation(a *Activation, err error, skipped bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := time.Now()
	st := j.state.RoutineStates[a.RoutineID]
	if st.CompletedAt == nil { // a routine's first end counts towards progress
		j.doneRoutines++
	}
	st.CompletedAt = &now
	dur := now.Sub(a.started).Seconds()
	if err == nil {
		st.Status = events.StateCompleted
		st.Output = a.output
		st.Error = nil
		j.updateProgressLocked()
		ev := &events.Event{
			Type: events.RoutineCompleted, RoutineID: a.RoutineID, ActivationID: a.ID,
			Slot: a.Slot, Duration: dur, Emitted: a.emitted, ResultMode: a.resultMode, Time: now,
		}
		if a.emitted == 0 {
			ev.Data = a.output // e.g. an output routine's result; emitted data is in event_emit
		}
		ev.State = j.stateRecordLocked(a)
		j.publishLocked(ev)
		return
	}
	msg := err.Error()
	a.failed = true
	st.Status = events.StateFailed
	if skipped {
		st.Status = events.StateSkipped
	}
	st.Error = &msg
	j.updateProgressLocked()
	j.publishLocked(&events.Event{
		Type: events.RoutineFailed, RoutineID: a.RoutineID, ActivationID: a.ID,
		Slot: a.Slot, Duration: dur, Error: msg, ErrorType: errorType(err), Status: st.Status, Time: now,
		State: j.stateRecordLocked(a),
	})
	j.publishLocked(&events.Event{
		Type: events.Log, RoutineID: a.RoutineID, ActivationID: a.ID, Level: "error",
		Message: fmt.Sprintf("routine %q failed: %s", a.RoutineID, msg),
	})
	if a.node.policy.Strategy == "stop" || a.node.policy.Strategy == "retry" {
		j.failedRoutine, j.failType = a.RoutineID, errorType(err)
		j.endLocked(events.StatusFailed, fmt.Sprintf("routine %q failed: %s", a.RoutineID, msg))
	}
}

// stateRecordLocked is what an activation's end records of its routine's
// private state: a copy, if the activation used it. The copy is shallow:
// kinds replace the values they change (merge assigns new slices), so the
// recorded values stay as they were.
func (j *job) stateRecordLocked(a *Activation) map[string]any {
	if !a.usedState {
		return nil
	}
	return maps.Clone(j.private[a.RoutineID])
}

func (j *job) updateProgressLocked() {
	if total := len(j.plan.routines); total > 0 {
		j.state.Progress = float64(j.doneRoutines) / float64(total)
	}
}

// settleLocked moves the job to paused or to its end once nothing runs.
func (j *job) settleLocked() {
	if j.workers > j.holding {
		return // an activation is still running
	}
	switch {
	case j.ending != "":
		if j.workers == 0 {
			j.finalizeLocked()
		}
	case j.pauseRequested:
		if j.state.Status == events.StatusRunning {
			j.state.Status = events.StatusPaused
			data := map[string]any{"reason": "Paused via API", "pause_reason": j.pauseReason}
			if j.pausedAt != nil {
				data["reason"] = "Breakpoint hit"
				data["paused_at"] = j.pausedAt
			}
			j.publishLocked(&events.Event{Type: events.JobPaused, Status: events.StatusPaused,
				Data: data, Job: j.snapshotPtrLocked()})
		}
	case j.workers == 0 && j.queuedLocked() == 0:
		j.ending = events.StatusCompleted
		j.finalizeLocked()
	}
}

func (j *job) pauseLocked() error {
	if j.pauseRequested || j.state.Status != events.StatusRunning {
		return fmt.Errorf("%w: job is %s, only a running job can be paused", ErrConflict, j.describeStatusLocked())
	}
	j.pauseRequested, j.pauseReason = true, events.PauseAPI
	j.settleLocked()
	return nil
}

func (j *job) resumeLocked() error {
	if !j.pauseRequested {
		return fmt.Errorf("%w: job is %s, only a paused job can be resumed", ErrConflict, j.describeStatusLocked())
	}
	j.pauseRequested, j.pauseReason, j.pausedAt = false, "", nil
	if j.state.Status == events.StatusPaused {
		j.state.Status = events.StatusRunning
		j.publishLocked(&events.Event{Type: events.JobResumed, Status: events.StatusRunning, Job: j.snapshotPtrLocked()})
	}
	j.spawnLocked()
	j.settleLocked() // a pause that found nothing queued ends the job here
	return nil
}

func (j *job) describeStatusLocked() string {
	if j.pauseRequested && j.state.Status == events.StatusRunning {
		return "pausing"
	}
	return j.state.Status
}

// endLocked decides the job's terminal status; the job ends once its running
// activations have returned (their context is cancelled now).
func (j *job) endLocked(status, reason string) {
	if j.ending != "" {
		return
	}
	j.ending = status
	if status != events.StatusCompleted {
		j.state.Error = reason
	}
	for i := j.head; i < len(j.queue); i++ {
		j.queue[i] = nil
	}
	j.queue, j.head, j.queuedBytes = nil, 0, 0
	j.cancel()
	j.settleLocked()
}

func (j *job) finalizeLocked() {
	if j.timer != nil {
		j.timer.Stop()
	}
	now := time.Now()
	j.state.Status = j.ending
	j.state.CompletedAt = &now
	j.state.Duration = now.Sub(j.started).Seconds()
	j.pauseRequested, j.pauseReason, j.pausedAt = false, "", nil
	if j.ending == events.StatusCompleted {
		j.state.Progress = 1
	}
	for _, st := range j.state.RoutineStates {
		if st.Status == events.StateRunning { // stopped by the job's end, not finished
			st.Status = events.StateCancelled
		}
	}
	typ := map[string]string{
		events.StatusCompleted: events.JobCompleted,
		events.StatusFailed:    events.JobFailed,
		events.StatusCancelled: events.JobCancelled,
	}[j.ending]
	// Stamped with the record's end: the store derives a completed job's
	// last log line from it.
	ev := &events.Event{Type: typ, Status: j.ending, Error: j.state.Error, Duration: j.state.Duration, Time: now}
	ev.Job = j.snapshotPtrLocked()
	ev.Job.Events = j.seq + 1 // counts this event too
	switch j.ending {
	case events.StatusCompleted:
		ev.Data = map[string]any{"duration": j.state.Duration, "total_events": ev.Job.Events, "result": j.state.Result,
			"nodes_completed": ev.Job.NodesCompleted, "nodes_failed": ev.Job.NodesFailed}
	case events.StatusFailed:
		ev.Data = map[string]any{"error": j.state.Error, "error_type": j.failType, "routine_id": j.failedRoutine}
		ev.RoutineID = j.failedRoutine
	case events.StatusCancelled:
		ev.Data = map[string]any{"reason": "Cancelled via API"}
	}
	j.publishLocked(ev)
	j.final = *ev.Job
	j.cancel()
	// Forgotten before done is closed: whoever sees done finds the job no
	// longer active, not still there and "ending".
	j.e.forget(j.state.JobID)
	close(j.done)
	if o := j.e.opts.Observer; o != nil {
		o.JobEnded(j.state.FlowID, j.ending)
	}
	if h := j.e.opts.Hooks; h != nil {
		h.JobEnded(j.state.JobID)
	}
}

// startSnapshotLocked is the job record at start; every routine is still
// pending then, so the states are left out to keep the first event small.
func (j *job) startSnapshotLocked() *events.JobState {
	s := j.snapshotLocked(false)
	return &s
}

func (j *job) snapshotPtrLocked() *events.JobState {
	s := j.snapshotLocked(true)
	return &s
}

// snapshotLocked copies the job's state; routine states are deep-copied.
func (j *job) snapshotLocked(withRoutines bool) events.JobState {
	s := j.state
	s.PauseRequested = j.pauseRequested && s.Status == events.StatusRunning
	if j.pauseRequested {
		s.PauseReason, s.PausedAt = j.pauseReason, j.pausedAt
	}
	s.NodesCompleted, s.NodesFailed = 0, 0
	for _, st := range j.state.RoutineStates {
		switch st.Status {
		case events.StateCompleted:
			s.NodesCompleted++
		case events.StateFailed:
			s.NodesFailed++
		}
	}
	if !events.Finished(s.Status) {
		s.Duration = time.Since(j.started).Seconds()
	}
	s.RoutineStates = nil
	if withRoutines {
		s.RoutineStates = make(map[string]*events.RoutineState, len(j.state.RoutineStates))
		for id, st := range j.state.RoutineStates {
			c := *st
			c.Emitted = maps.Clone(st.Emitted)
			s.RoutineStates[id] = &c
		}
	}
	return s
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// errorType names the Go type of an error, the seed protocol's error_type.
func errorType(err error) string {
	if te, ok := err.(interface{ Type() string }); ok {
		return te.Type()
	}
	return fmt.Sprintf("%T", err)
}
