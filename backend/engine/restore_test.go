package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
)

// restoreRegistry adds to the test kinds one that is not safe to run twice
// unless its config says so, and counts its runs.
func restoreRegistry(t *testing.T, runs *int) *engine.Registry {
	reg := testRegistry(t, newGate(), nil)
	reg.MustRegister(engine.Kind{Name: "effect", Slots: []string{"input"}, Events: []string{"output"},
		RerunSafe: func(cfg map[string]any) bool { return cfg["idempotent"] == true },
		Build: func(map[string]any) (engine.Runner, error) {
			return engine.RunnerFunc(func(ctx context.Context, a *engine.Activation) error {
				*runs++
				return a.Emit(ctx, "output", a.Data)
			}), nil
		}})
	return reg
}

const effectFlow = `
flow_id: effects
routines:
  start: {kind: input}
  call:  {kind: effect, config: {idempotent: %s}, error_policy: {strategy: %s}}
  a:     {kind: inc}
  done:  {kind: output}
connections:
  - {from: start.output, to: call.input}
  - {from: call.output, to: a.input}
  - {from: a.output, to: done.input}
`

// A job as its log left it after a crash: start done (seq 1–4), call
// started (5) and running.
func crashedAt(t *testing.T, rec *recorder, idempotent, policy string) engine.RestoreRequest {
	rec.continues("job_restored", 5)
	f := mustFlow(t, fmt.Sprintf(effectFlow, idempotent, policy))
	return engine.RestoreRequest{
		Flow: f,
		State: events.JobState{JobID: "job_restored", FlowID: "effects", Status: events.StatusRunning, EntryRoutineID: "start",
			Params: float64(1), Events: 5, RoutineStates: map[string]*events.RoutineState{
				"start": {Status: events.StateCompleted, Activations: 1}, "call": {Status: events.StateRunning, Activations: 1},
			}},
		NextID:  2,
		Running: []engine.Restored{{ID: 2, ParentID: 1, Depth: 1, RoutineID: "call", Slot: "input", Source: "start.output", Data: float64(1)}},
	}
}

func TestRestoreRunsASafeActivationAgainWithoutStartingItTwice(t *testing.T) {
	rec := newRecorder(t)
	runs := 0
	e := engine.New(restoreRegistry(t, &runs), rec, engine.Options{})
	rep, err := e.Restore(crashedAt(t, rec, "true", "stop"))
	if err != nil || rep != (engine.RestoreReport{Rerun: 1}) {
		t.Fatalf("restore: %+v %v", rep, err)
	}
	waitDone(t, e, "job_restored")
	final := rec.final(t, "job_restored")
	if final.Status != events.StatusCompleted || final.Result != float64(2) || runs != 1 {
		t.Fatalf("final %s result %v after %d runs", final.Status, final.Result, runs)
	}
	evs := rec.events("job_restored")
	if evs[0].Seq != 6 || evs[0].Type != events.Log || !strings.Contains(evs[0].Message, "1 run again") {
		t.Fatalf("first event after the restore: %+v", evs[0])
	}
	// call's routine_started is in the log from before: only its end follows.
	if n := rec.count("job_restored", events.RoutineStarted, "call"); n != 0 {
		t.Errorf("call started %d more times", n)
	}
	// Activation ids continue where the log left them.
	for _, ev := range evs {
		if ev.Type == events.RoutineStarted && ev.RoutineID == "a" && ev.ActivationID != 3 {
			t.Errorf("a is activation %d, want 3", ev.ActivationID)
		}
	}
	if final.RoutineStates["call"].Activations != 1 || final.Activations != 4 {
		t.Errorf("activations: call %d, job %d", final.RoutineStates["call"].Activations, final.Activations)
	}
}

func TestRestoreFailsAnUnsafeActivationAsInterrupted(t *testing.T) {
	for policy, want := range map[string]string{"stop": events.StatusFailed, "skip": events.StatusCompleted} {
		t.Run(policy, func(t *testing.T) {
			rec := newRecorder(t)
			runs := 0
			e := engine.New(restoreRegistry(t, &runs), rec, engine.Options{})
			if rep, err := e.Restore(crashedAt(t, rec, "false", policy)); err != nil || rep.Failed != 1 {
				t.Fatalf("restore: %+v %v", rep, err)
			}
			waitDone(t, e, "job_restored")
			final := rec.final(t, "job_restored")
			if final.Status != want || runs != 0 {
				t.Fatalf("%s after %d runs: %s", final.Status, runs, final.Error)
			}
			var failed *events.Event
			for _, ev := range rec.events("job_restored") {
				if ev.Type == events.RoutineFailed {
					failed = ev
				}
			}
			if failed == nil || failed.ErrorType != "Interrupted" || !strings.Contains(failed.Error, "interrupted by a crash") {
				t.Fatalf("routine_failed: %+v", failed)
			}
			if policy == "skip" && final.Result != float64(2) { // the input forwarded, then a and done ran
				t.Errorf("result %v", final.Result)
			}
		})
	}
}

func TestRestorePausedStaysPausedUntilResumed(t *testing.T) {
	rec := newRecorder(t)
	runs := 0
	e := engine.New(restoreRegistry(t, &runs), rec, engine.Options{})
	req := crashedAt(t, rec, "true", "stop")
	req.Queued, req.Running, req.Paused = req.Running, nil, true
	if _, err := e.Restore(req); err != nil {
		t.Fatal(err)
	}
	if js, _ := e.Job("job_restored"); js.Status != events.StatusPaused || runs != 0 {
		t.Fatalf("after restore: %s, %d runs", js.Status, runs)
	}
	if _, err := e.Resume("job_restored"); err != nil {
		t.Fatal(err)
	}
	waitDone(t, e, "job_restored")
	if final := rec.final(t, "job_restored"); final.Status != events.StatusCompleted || runs != 1 {
		t.Fatalf("final %s after %d runs", final.Status, runs)
	}
}

func TestRestoreRefusesAnActivationOfAnotherFlow(t *testing.T) {
	runs := 0
	rec := newRecorder(t)
	e := engine.New(restoreRegistry(t, &runs), rec, engine.Options{})
	req := crashedAt(t, rec, "true", "stop")
	req.Queued = []engine.Restored{{ID: 3, RoutineID: "ghost", Slot: "input"}}
	if _, err := e.Restore(req); err == nil || !strings.Contains(err.Error(), `routine "ghost" is not in flow effects`) {
		t.Fatalf("err %v", err)
	}
	if _, live := e.Job("job_restored"); live {
		t.Fatal("a refused restore left the job running")
	}
}
