package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/flow"
)

// recorder is a Sink that keeps every event and checks per-job seq order.
type recorder struct {
	t    *testing.T
	mu   sync.Mutex
	jobs map[string][]*events.Event
	// after is the seq a restored job's log had reached (continues).
	after map[string]int64
}

func newRecorder(t *testing.T) *recorder {
	return &recorder{t: t, jobs: map[string][]*events.Event{}, after: map[string]int64{}}
}

// continues expects jobID's events to follow seq (a restored job).
func (r *recorder) continues(jobID string, seq int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.after[jobID] = seq
}

func (r *recorder) Publish(ev *events.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := r.jobs[ev.JobID]
	if want := r.after[ev.JobID] + int64(len(list)+1); ev.Seq != want {
		r.t.Errorf("job %s: seq %d published where %d was due", ev.JobID, ev.Seq, want)
	}
	r.jobs[ev.JobID] = append(list, ev)
}

func (r *recorder) events(jobID string) []*events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*events.Event(nil), r.jobs[jobID]...)
}

// final is the job state carried by the job's terminal event.
func (r *recorder) final(t *testing.T, jobID string) *events.JobState {
	t.Helper()
	list := r.events(jobID)
	if len(list) == 0 || list[len(list)-1].Job == nil || !events.Finished(list[len(list)-1].Job.Status) {
		t.Fatalf("job %s has not ended; events: %d", jobID, len(list))
	}
	return list[len(list)-1].Job
}

func (r *recorder) count(jobID, typ, routine string) int {
	n := 0
	for _, ev := range r.events(jobID) {
		if ev.Type == typ && (routine == "" || ev.RoutineID == routine) {
			n++
		}
	}
	return n
}

// gate is a test kind whose activations block until released (or cancelled).
type gate struct {
	entered chan string
	release chan struct{}
}

func newGate() *gate { return &gate{entered: make(chan string, 100), release: make(chan struct{})} }

func testRegistry(t *testing.T, g *gate, boomFailures *atomic.Int64) *engine.Registry {
	t.Helper()
	reg := engine.NewRegistry()
	pass := func(ctx context.Context, a *engine.Activation) error { return a.Emit(ctx, "output", a.Data) }
	reg.MustRegister(engine.Kind{Name: "input", Slots: []string{"trigger"}, Events: []string{"output"},
		Build: func(map[string]any) (engine.Runner, error) { return engine.RunnerFunc(pass), nil }})
	reg.MustRegister(engine.Kind{Name: "inc", Slots: []string{"input"}, Events: []string{"output"},
		Build: func(map[string]any) (engine.Runner, error) {
			return engine.RunnerFunc(func(ctx context.Context, a *engine.Activation) error {
				n, _ := a.Data.(float64)
				return a.Emit(ctx, "output", n+1)
			}), nil
		}})
	reg.MustRegister(engine.Kind{Name: "fan", Slots: []string{"input"}, Events: []string{"output"},
		Build: func(cfg map[string]any) (engine.Runner, error) {
			n, _ := cfg["n"].(float64)
			return engine.RunnerFunc(func(ctx context.Context, a *engine.Activation) error {
				for i := range int(n) {
					if err := a.Emit(ctx, "output", float64(i)); err != nil {
						return err
					}
				}
				return nil
			}), nil
		}})
	reg.MustRegister(engine.Kind{Name: "gate", Slots: []string{"input"}, Events: []string{"output"},
		Build: func(map[string]any) (engine.Runner, error) {
			return engine.RunnerFunc(func(ctx context.Context, a *engine.Activation) error {
				g.entered <- a.RoutineID
				select {
				case <-g.release:
				case <-ctx.Done():
					return ctx.Err()
				}
				return a.Emit(ctx, "output", a.Data)
			}), nil
		}})
	reg.MustRegister(engine.Kind{Name: "boom", Slots: []string{"input"}, Events: []string{"output"},
		Build: func(map[string]any) (engine.Runner, error) {
			return engine.RunnerFunc(func(ctx context.Context, a *engine.Activation) error {
				if boomFailures != nil && boomFailures.Add(-1) >= 0 {
					return errors.New("boom")
				}
				return a.Emit(ctx, "output", a.Data)
			}), nil
		}})
	reg.MustRegister(engine.Kind{Name: "output", Slots: []string{"input"},
		Build: func(map[string]any) (engine.Runner, error) {
			return engine.RunnerFunc(func(ctx context.Context, a *engine.Activation) error {
				a.SetResult(a.Data, false)
				return nil
			}), nil
		}})
	reg.MustRegister(engine.Kind{Name: "collect", Slots: []string{"input"},
		Build: func(map[string]any) (engine.Runner, error) {
			return engine.RunnerFunc(func(ctx context.Context, a *engine.Activation) error {
				a.SetResult(a.Data, true)
				return nil
			}), nil
		}})
	return reg
}

func mustFlow(t *testing.T, src string) *flow.Flow {
	t.Helper()
	f, err := flow.Parse([]byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return f
}

func waitDone(t *testing.T, e *engine.Engine, id string) {
	t.Helper()
	select {
	case <-e.Done(id):
	case <-time.After(10 * time.Second):
		t.Fatalf("job %s did not end", id)
	}
}

func waitStatus(t *testing.T, e *engine.Engine, id, status string) events.JobState {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		js, ok := e.Job(id)
		if ok && js.Status == status {
			return js
		}
		time.Sleep(2 * time.Millisecond)
	}
	js, _ := e.Job(id)
	t.Fatalf("job %s: status %q, want %q", id, js.Status, status)
	return js
}

const chain = `
flow_id: chain
routines:
  start: {kind: input}
  a: {kind: inc}
  b: {kind: inc}
  c: {kind: inc}
  done: {kind: output}
connections:
  - {from: start.output, to: a.input}
  - {from: a.output, to: b.input}
  - {from: b.output, to: c.input}
  - {from: c.output, to: done.input}
`

func TestChainCompletesWithGapFreeLog(t *testing.T) {
	rec := newRecorder(t)
	e := engine.New(testRegistry(t, nil, nil), rec, engine.Options{})
	js, err := e.Start(engine.StartRequest{Flow: mustFlow(t, chain), Params: float64(1)})
	if err != nil {
		t.Fatal(err)
	}
	if js.Status != events.StatusRunning || js.EntryRoutineID != "start" {
		t.Fatalf("start state: %+v", js)
	}
	waitDone(t, e, js.JobID)
	final := rec.final(t, js.JobID)
	if final.Status != events.StatusCompleted || final.Result != float64(4) {
		t.Fatalf("final: status %s result %v", final.Status, final.Result)
	}
	if final.Progress != 1 || final.NodesCompleted != 5 || final.NodesFailed != 0 || final.Activations != 5 {
		t.Fatalf("counters: %+v", final)
	}
	for id, st := range final.RoutineStates {
		if st.Status != events.StateCompleted || st.Activations != 1 || st.StartedAt == nil || st.CompletedAt == nil {
			t.Errorf("routine %s state %+v", id, st)
		}
	}
	if got := final.RoutineStates["b"].Output; got != float64(3) {
		t.Errorf("b output = %v, want 3", got)
	}
	if got := final.RoutineStates["b"].Emitted; len(got) != 1 || got["output"] != 1 {
		t.Errorf("b emitted %v, want output: 1", got)
	}
	if got := final.RoutineStates["done"].Emitted; got != nil {
		t.Errorf("done emitted %v, want none", got)
	}
	evs := rec.events(js.JobID)
	if evs[0].Type != events.JobStarted || evs[len(evs)-1].Type != events.JobCompleted {
		t.Fatalf("first/last events: %s / %s", evs[0].Type, evs[len(evs)-1].Type)
	}
	// Causality: each routine_started names the activation whose emit caused it.
	parents := map[string]int64{}
	acts := map[string]int64{}
	for _, ev := range evs {
		if ev.Type == events.RoutineStarted {
			acts[ev.RoutineID] = ev.ActivationID
			parents[ev.RoutineID] = ev.ParentID
		}
	}
	if parents["start"] != 0 || parents["a"] != acts["start"] || parents["done"] != acts["c"] {
		t.Fatalf("causal parents wrong: acts %v parents %v", acts, parents)
	}
	if final.Events != int64(len(evs)) {
		t.Fatalf("job counts %d events, log has %d", final.Events, len(evs))
	}
}

const gated = `
flow_id: gated
routines:
  start: {kind: input}
  g1: {kind: gate}
  a: {kind: inc}
  g2: {kind: gate}
  done: {kind: output}
connections:
  - {from: start.output, to: g1.input}
  - {from: g1.output, to: a.input}
  - {from: a.output, to: g2.input}
  - {from: g2.output, to: done.input}
`

func TestPauseWaitsForRunningThenResumesExactlyOnce(t *testing.T) {
	rec := newRecorder(t)
	g := newGate()
	e := engine.New(testRegistry(t, g, nil), rec, engine.Options{})
	js, err := e.Start(engine.StartRequest{Flow: mustFlow(t, gated), Params: float64(0)})
	if err != nil {
		t.Fatal(err)
	}
	<-g.entered // g1 is running
	st, err := e.Pause(js.JobID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != events.StatusRunning || !st.PauseRequested {
		t.Fatalf("while g1 runs, pause must be pending: %+v", st)
	}
	if _, err := e.Pause(js.JobID); !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("second pause: %v, want conflict", err)
	}
	g.release <- struct{}{} // g1 finishes; its emit is queued, not run
	waitStatus(t, e, js.JobID, events.StatusPaused)
	time.Sleep(20 * time.Millisecond)
	if n := rec.count(js.JobID, events.RoutineStarted, "a"); n != 0 {
		t.Fatalf("a started %d times while paused", n)
	}
	if _, err := e.Resume(js.JobID); err != nil {
		t.Fatal(err)
	}
	<-g.entered // g2
	close(g.release)
	waitDone(t, e, js.JobID)
	final := rec.final(t, js.JobID)
	if final.Status != events.StatusCompleted || final.Result != float64(1) {
		t.Fatalf("final %s %v", final.Status, final.Result)
	}
	for _, r := range []string{"start", "g1", "a", "g2", "done"} {
		if n := rec.count(js.JobID, events.RoutineStarted, r); n != 1 {
			t.Errorf("routine %s ran %d times, want 1", r, n)
		}
	}
	if rec.count(js.JobID, events.JobPaused, "") != 1 || rec.count(js.JobID, events.JobResumed, "") != 1 {
		t.Errorf("want one job_paused and one job_resumed")
	}
	if _, err := e.Resume(js.JobID); !errors.Is(err, engine.ErrJobNotActive) {
		t.Errorf("resume after end: %v", err)
	}
}

func TestCancelStopsRunningActivationPromptly(t *testing.T) {
	rec := newRecorder(t)
	g := newGate()
	e := engine.New(testRegistry(t, g, nil), rec, engine.Options{})
	js, _ := e.Start(engine.StartRequest{Flow: mustFlow(t, gated)})
	<-g.entered
	if _, err := e.Cancel(js.JobID); err != nil {
		t.Fatal(err)
	}
	waitDone(t, e, js.JobID)
	final := rec.final(t, js.JobID)
	if final.Status != events.StatusCancelled {
		t.Fatalf("status %s", final.Status)
	}
	if rec.count(js.JobID, events.RoutineStarted, "a") != 0 {
		t.Fatal("a ran after cancel")
	}
	// The routine stopped mid-run says so, rather than running forever.
	if st := final.RoutineStates["g1"].Status; st != events.StateCancelled {
		t.Errorf("g1 is %s, want cancelled", st)
	}
	if st := final.RoutineStates["start"].Status; st != events.StateCompleted {
		t.Errorf("start is %s, want completed", st)
	}
}

func TestCancelPausedJob(t *testing.T) {
	rec := newRecorder(t)
	g := newGate()
	e := engine.New(testRegistry(t, g, nil), rec, engine.Options{})
	js, _ := e.Start(engine.StartRequest{Flow: mustFlow(t, gated)})
	<-g.entered
	e.Pause(js.JobID)
	g.release <- struct{}{}
	waitStatus(t, e, js.JobID, events.StatusPaused)
	e.Cancel(js.JobID)
	waitDone(t, e, js.JobID)
	if s := rec.final(t, js.JobID).Status; s != events.StatusCancelled {
		t.Fatalf("status %s", s)
	}
}

func TestTimeoutFailsJob(t *testing.T) {
	rec := newRecorder(t)
	g := newGate()
	e := engine.New(testRegistry(t, g, nil), rec, engine.Options{})
	f := mustFlow(t, gated)
	f.Execution = &flow.Execution{Timeout: flow.Duration(50 * time.Millisecond)}
	js, _ := e.Start(engine.StartRequest{Flow: f})
	waitDone(t, e, js.JobID)
	final := rec.final(t, js.JobID)
	if final.Status != events.StatusFailed || final.Error != "job timed out after 50ms" {
		t.Fatalf("final %s %q", final.Status, final.Error)
	}
}

func policyFlow(policy string) string {
	return fmt.Sprintf(`
flow_id: policy
routines:
  start: {kind: input}
  b: {kind: boom, error_policy: %s}
  done: {kind: output}
connections:
  - {from: start.output, to: b.input}
  - {from: b.output, to: done.input}
`, policy)
}

func TestErrorPolicies(t *testing.T) {
	cases := []struct {
		name, policy        string
		failures            int64
		status              string
		bStatus             string
		bStarts, doneStarts int
	}{
		{"stop", "{strategy: stop}", 1, events.StatusFailed, events.StateFailed, 1, 0},
		{"continue", "{strategy: continue}", 1, events.StatusCompleted, events.StateFailed, 1, 0},
		{"skip", "{strategy: skip}", 1, events.StatusCompleted, events.StateSkipped, 1, 1},
		{"retry succeeds", "{strategy: retry, max_retries: 2, retry_delay: 1ms, retry_backoff: 2}", 2, events.StatusCompleted, events.StateCompleted, 1, 1},
		{"retry exhausted", "{strategy: retry, max_retries: 2, retry_delay: 1ms}", 5, events.StatusFailed, events.StateFailed, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t)
			var failures atomic.Int64
			failures.Store(tc.failures)
			e := engine.New(testRegistry(t, nil, &failures), rec, engine.Options{})
			js, err := e.Start(engine.StartRequest{Flow: mustFlow(t, policyFlow(tc.policy)), Params: "x"})
			if err != nil {
				t.Fatal(err)
			}
			waitDone(t, e, js.JobID)
			final := rec.final(t, js.JobID)
			if final.Status != tc.status || final.RoutineStates["b"].Status != tc.bStatus {
				t.Fatalf("job %s, b %s; want %s, %s", final.Status, final.RoutineStates["b"].Status, tc.status, tc.bStatus)
			}
			if n := rec.count(js.JobID, events.RoutineStarted, "done"); n != tc.doneStarts {
				t.Fatalf("done ran %d times, want %d", n, tc.doneStarts)
			}
			if tc.status == events.StatusFailed && final.Error == "" {
				t.Fatal("failed job without error")
			}
		})
	}
}

func TestConcurrentStrategyBoundsWorkers(t *testing.T) {
	rec := newRecorder(t)
	g := newGate()
	e := engine.New(testRegistry(t, g, nil), rec, engine.Options{})
	f := mustFlow(t, `
flow_id: fanout
execution: {strategy: concurrent, max_workers: 3}
routines:
  start: {kind: input}
  fan: {kind: fan, config: {n: 10}}
  g: {kind: gate}
  all: {kind: collect}
connections:
  - {from: start.output, to: fan.input}
  - {from: fan.output, to: g.input}
  - {from: g.output, to: all.input}
`)
	js, _ := e.Start(engine.StartRequest{Flow: f})
	for range 3 {
		<-g.entered
	}
	select {
	case <-g.entered:
		t.Fatal("a fourth activation ran with max_workers 3")
	case <-time.After(50 * time.Millisecond):
	}
	close(g.release)
	waitDone(t, e, js.JobID)
	final := rec.final(t, js.JobID)
	if list, _ := final.Result.([]any); len(list) != 10 {
		t.Fatalf("collected %v", final.Result)
	}
}

// holdHook holds activations of one routine until released.
type holdHook struct {
	routine string
	held    chan int64
	release chan struct{}
	emits   atomic.Int64
}

func (h *holdHook) BeforeActivation(ctx context.Context, a *engine.Activation) error {
	if a.RoutineID != h.routine {
		return nil
	}
	defer a.Park()()
	h.held <- a.ID
	select {
	case <-h.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *holdHook) BeforeEmit(ctx context.Context, a *engine.Activation, event string, data any) (any, error) {
	h.emits.Add(1)
	return data, nil
}

func (h *holdHook) JobStarting(engine.StartedJob) map[string]any { return nil }
func (h *holdHook) JobRestored(engine.StartedJob)                {}
func (h *holdHook) AfterActivation(*engine.Activation)           {}
func (h *holdHook) JobEnded(string)                              {}

func TestHookHoldsOneActivationWhileJobPausesAndResumes(t *testing.T) {
	rec := newRecorder(t)
	hook := &holdHook{routine: "b", held: make(chan int64, 1), release: make(chan struct{})}
	e := engine.New(testRegistry(t, nil, nil), rec, engine.Options{Hooks: hook})
	js, _ := e.Start(engine.StartRequest{Flow: mustFlow(t, chain), Params: float64(0)})
	<-hook.held
	// The held activation does not count as running: pause completes.
	if _, err := e.Pause(js.JobID); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, e, js.JobID, events.StatusPaused)
	close(hook.release) // released while paused: b goes back to the queue
	time.Sleep(20 * time.Millisecond)
	if n := rec.count(js.JobID, events.RoutineStarted, "b"); n != 0 {
		t.Fatalf("b ran %d times while the job was paused", n)
	}
	if _, err := e.Resume(js.JobID); err != nil {
		t.Fatal(err)
	}
	waitDone(t, e, js.JobID)
	final := rec.final(t, js.JobID)
	if final.Status != events.StatusCompleted || final.Result != float64(3) {
		t.Fatalf("final %s %v", final.Status, final.Result)
	}
	if n := rec.count(js.JobID, events.RoutineStarted, "b"); n != 1 {
		t.Fatalf("b ran %d times", n)
	}
	if hook.emits.Load() != 4 {
		t.Fatalf("BeforeEmit called %d times, want 4", hook.emits.Load())
	}
}

func TestCancelWhileHookHolds(t *testing.T) {
	rec := newRecorder(t)
	hook := &holdHook{routine: "b", held: make(chan int64, 1), release: make(chan struct{})}
	e := engine.New(testRegistry(t, nil, nil), rec, engine.Options{Hooks: hook})
	js, _ := e.Start(engine.StartRequest{Flow: mustFlow(t, chain), Params: float64(0)})
	<-hook.held
	e.Cancel(js.JobID)
	waitDone(t, e, js.JobID)
	if s := rec.final(t, js.JobID).Status; s != events.StatusCancelled {
		t.Fatalf("status %s", s)
	}
}

func TestManyJobsAtOnce(t *testing.T) {
	rec := newRecorder(t)
	e := engine.New(testRegistry(t, nil, nil), rec, engine.Options{MaxConcurrent: 8})
	f := mustFlow(t, chain)
	var ids []string
	for i := range 200 {
		js, err := e.Start(engine.StartRequest{Flow: f, Params: float64(i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, js.JobID)
	}
	for i, id := range ids {
		waitDone(t, e, id)
		if r := rec.final(t, id).Result; r != float64(i+3) {
			t.Fatalf("job %d result %v", i, r)
		}
	}
}

func TestRunawayLoopIsStopped(t *testing.T) {
	rec := newRecorder(t)
	reg := testRegistry(t, nil, nil)
	reg.MustRegister(engine.Kind{Name: "loop", Slots: []string{"input"}, Events: []string{"output"}, Cycles: true,
		Build: func(map[string]any) (engine.Runner, error) {
			return engine.RunnerFunc(func(ctx context.Context, a *engine.Activation) error { return a.Emit(ctx, "output", a.Data) }), nil
		}})
	e := engine.New(reg, rec, engine.Options{MaxActivations: 100})
	js, err := e.Start(engine.StartRequest{Flow: mustFlow(t, `
flow_id: loop
routines:
  start: {kind: input}
  l: {kind: loop}
connections:
  - {from: start.output, to: l.input}
  - {from: l.output, to: l.input}
`)})
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, e, js.JobID)
	if final := rec.final(t, js.JobID); final.Status != events.StatusFailed {
		t.Fatalf("status %s", final.Status)
	}
}

func TestStartRejectsUnknownEntryAndInvalidFlow(t *testing.T) {
	e := engine.New(testRegistry(t, nil, nil), newRecorder(t), engine.Options{})
	if _, err := e.Start(engine.StartRequest{Flow: mustFlow(t, chain), EntryRoutineID: "nope"}); !errors.Is(err, engine.ErrNoEntry) {
		t.Fatalf("unknown entry: %v", err)
	}
	bad := mustFlow(t, `{"flow_id":"bad","routines":{"start":{"kind":"input"},"x":{"kind":"nope"}},"connections":[]}`)
	var verr *engine.ValidationError
	if _, err := e.Start(engine.StartRequest{Flow: bad}); !errors.As(err, &verr) {
		t.Fatalf("invalid flow: %v", err)
	}
}

func TestShutdownInterruptsActiveJobs(t *testing.T) {
	rec := newRecorder(t)
	g := newGate()
	e := engine.New(testRegistry(t, g, nil), rec, engine.Options{})
	js, _ := e.Start(engine.StartRequest{Flow: mustFlow(t, gated)})
	<-g.entered
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	final := rec.final(t, js.JobID)
	if final.Status != events.StatusFailed || final.Error == "" {
		t.Fatalf("final %s %q", final.Status, final.Error)
	}
	if _, err := e.Start(engine.StartRequest{Flow: mustFlow(t, chain)}); !errors.Is(err, engine.ErrShuttingDown) {
		t.Fatalf("start after shutdown: %v", err)
	}
}

func TestCompileBuildsEachRoutineOnceAndReportsBadConfig(t *testing.T) {
	reg := testRegistry(t, nil, nil)
	var builds atomic.Int64
	reg.MustRegister(engine.Kind{Name: "picky", Slots: []string{"input"}, Events: []string{"output"},
		Build: func(cfg map[string]any) (engine.Runner, error) {
			builds.Add(1)
			if cfg["ok"] != true {
				return nil, errors.New("config.ok must be true")
			}
			return engine.RunnerFunc(func(ctx context.Context, a *engine.Activation) error { return a.Emit(ctx, "output", a.Data) }), nil
		}})
	src := `
flow_id: picky
routines:
  start: {kind: input}
  p: {kind: picky, config: {ok: %v}}
connections:
  - {from: start.output, to: p.input}
`
	if _, err := reg.Compile(mustFlow(t, fmt.Sprintf(src, true))); err != nil || builds.Load() != 1 {
		t.Fatalf("compile: %v, %d builds (want 1)", err, builds.Load())
	}
	_, err := reg.Compile(mustFlow(t, fmt.Sprintf(src, false)))
	var verr *engine.ValidationError
	if !errors.As(err, &verr) || len(verr.Result.Errors) != 1 {
		t.Fatalf("bad config: %v", err)
	}
	if is := verr.Result.Errors[0]; is.Code != flow.CodeBadConfig || is.RoutineID != "p" || !strings.Contains(is.Message, "config.ok") {
		t.Fatalf("issue %+v", is)
	}
}

func TestPauseCatchesActivationWaitingForAGlobalSlot(t *testing.T) {
	rec := newRecorder(t)
	g := newGate()
	e := engine.New(testRegistry(t, g, nil), rec, engine.Options{MaxConcurrent: 1})
	holder, _ := e.Start(engine.StartRequest{Flow: mustFlow(t, gated)})
	<-g.entered // holder's g1 has the only slot
	waiting, _ := e.Start(engine.StartRequest{Flow: mustFlow(t, chain), Params: float64(0)})
	time.Sleep(20 * time.Millisecond) // its entry activation now waits for the slot
	if _, err := e.Pause(waiting.JobID); err != nil {
		t.Fatal(err)
	}
	g.release <- struct{}{} // the slot frees up
	waitStatus(t, e, waiting.JobID, events.StatusPaused)
	if n := rec.count(waiting.JobID, events.RoutineStarted, ""); n != 0 {
		t.Fatalf("%d activations ran after the pause", n)
	}
	if _, err := e.Resume(waiting.JobID); err != nil {
		t.Fatal(err)
	}
	close(g.release) // the holder's second gate would take the slot again
	waitDone(t, e, waiting.JobID)
	if final := rec.final(t, waiting.JobID); final.Status != events.StatusCompleted || final.Result != float64(3) {
		t.Fatalf("final %s %v", final.Status, final.Result)
	}
	waitDone(t, e, holder.JobID)
}

func TestThrottleHoldsActivationsUntilItLetsGo(t *testing.T) {
	rec := newRecorder(t)
	open := make(chan struct{})
	var calls atomic.Int64
	e := engine.New(testRegistry(t, newGate(), nil), rec, engine.Options{Throttle: func(ctx context.Context) error {
		calls.Add(1)
		select {
		case <-open:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}})
	js, err := e.Start(engine.StartRequest{Flow: mustFlow(t, chain), Params: float64(1)})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := rec.count(js.JobID, events.RoutineStarted, ""); n != 0 {
		t.Fatalf("%d activations ran while throttled", n)
	}
	close(open)
	waitDone(t, e, js.JobID)
	if final := rec.final(t, js.JobID); final.Status != events.StatusCompleted || calls.Load() != 5 {
		t.Fatalf("final %s after %d throttle calls", final.Status, calls.Load())
	}
	// A job cancelled while throttled ends without running what waited.
	blocked := engine.New(testRegistry(t, newGate(), nil), rec, engine.Options{Throttle: func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}})
	js, _ = blocked.Start(engine.StartRequest{Flow: mustFlow(t, chain), Params: float64(1)})
	if _, err := blocked.Cancel(js.JobID); err != nil {
		t.Fatal(err)
	}
	waitDone(t, blocked, js.JobID)
	if final := rec.final(t, js.JobID); final.Status != events.StatusCancelled {
		t.Fatalf("cancelled while throttled: %s", final.Status)
	}
}

const fanToGate = `
flow_id: fanout
routines:
  start: {kind: input}
  fan: {kind: fan, config: {n: 10}}
  g: {kind: gate}
connections:
  - {from: start.output, to: fan.input}
  - {from: fan.output, to: g.input}
`

func TestAJobOverItsQueueBudgetFails(t *testing.T) {
	rec := newRecorder(t)
	g := newGate()
	// Ten queued activations cost more than 2 KB; one at a time never does.
	e := engine.New(testRegistry(t, g, nil), rec, engine.Options{MaxQueuedBytes: 2000})
	js, err := e.Start(engine.StartRequest{Flow: mustFlow(t, fanToGate)})
	if err != nil {
		t.Fatal(err)
	}
	go func() { // the gates that get to run
		for range g.entered {
			g.release <- struct{}{}
		}
	}()
	waitDone(t, e, js.JobID)
	final := rec.final(t, js.JobID)
	if final.Status != events.StatusFailed || !strings.Contains(final.Error, `routine "fan" emitted output: the job would hold`) ||
		!strings.Contains(final.Error, "more than its 1 KB limit") {
		t.Fatalf("final %s: %s", final.Status, final.Error)
	}
	// What was queued before is released as it runs: a long chain stays far below the budget.
	chained := engine.New(testRegistry(t, newGate(), nil), rec, engine.Options{MaxQueuedBytes: 600})
	js, _ = chained.Start(engine.StartRequest{Flow: mustFlow(t, chain), Params: float64(1)})
	waitDone(t, chained, js.JobID)
	if final := rec.final(t, js.JobID); final.Status != events.StatusCompleted {
		t.Fatalf("the chain within its budget: %s %s", final.Status, final.Error)
	}
}

func TestJobIDsSortInTheOrderTheyWereMade(t *testing.T) {
	e := engine.New(testRegistry(t, nil, nil), newRecorder(t), engine.Options{})
	f := mustFlow(t, chain)
	var prev string
	for range 2_000 { // many in each millisecond
		js, err := e.Start(engine.StartRequest{Flow: f, Params: float64(1)})
		if err != nil {
			t.Fatal(err)
		}
		if len(js.JobID) != len("job_")+20 || js.JobID <= prev {
			t.Fatalf("%s came after %s", js.JobID, prev)
		}
		prev = js.JobID
		if _, err := js.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
