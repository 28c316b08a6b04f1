package routines

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
)

const policyFlow = `
flow_id: pol
routines:
  start: {kind: input}
  boom:
    kind: fail
    config: {message: "bad value {{ data.v }}"}
    error_policy: POLICY
  done:  {kind: output}
connections:
  - {from: start.output, to: boom.input}
  - {from: start.output, to: done.input}
`

func TestFailPolicies(t *testing.T) {
	h := newHarness(t)
	run := func(policy string) (string, *events.JobState) {
		return h.run(strings.Replace(policyFlow, "POLICY", policy, 1), map[string]any{"v": 7.0})
	}

	_, st := run("{strategy: stop}")
	if st.Status != events.StatusFailed || !strings.Contains(st.Error, "bad value 7") {
		t.Errorf("stop: status %s error %q", st.Status, st.Error)
	}

	id, st := run("{strategy: continue}")
	if st.Status != events.StatusCompleted || st.NodesFailed != 1 {
		t.Errorf("continue: status %s nodes_failed %d", st.Status, st.NodesFailed)
	}
	fails := h.rec.of(id, events.RoutineFailed)
	if len(fails) != 1 || fails[0].ErrorType != "FailError" || fails[0].Error != "bad value 7" {
		t.Errorf("continue: failures %+v", fails)
	}

	_, st = run("{strategy: skip}")
	if st.Status != events.StatusCompleted || st.RoutineStates["boom"].Status != events.StateSkipped {
		t.Errorf("skip: status %s, boom %+v", st.Status, st.RoutineStates["boom"])
	}

	id, st = run("{strategy: retry, max_retries: 2}")
	if st.Status != events.StatusFailed {
		t.Errorf("retry: status %s", st.Status)
	}
	if n := len(h.rec.of(id, events.RoutineFailed)); n != 3 {
		t.Errorf("retry: %d failures, want 3 (1 + 2 retries)", n)
	}
}

// TestSkipForwardsInput: fail has no events, so skip has nothing to
// forward there; a kind with an output event passes its input on.
func TestSkipForwardsInput(t *testing.T) {
	h := newHarness(t)
	res := h.mustComplete(`
flow_id: skip
routines:
  start: {kind: input}
  s:
    kind: script
    config: {code: "throw new TypeError('nope')"}
    error_policy: {strategy: skip}
  done:  {kind: output}
connections:
  - {from: start.output, to: s.input}
  - {from: s.output,     to: done.input}
`, map[string]any{"keep": "me"})
	if m, _ := res.(map[string]any); m["keep"] != "me" {
		t.Fatalf("result = %v", res)
	}
}

func TestRetryCallsRoutineThreeTimes(t *testing.T) {
	var calls atomic.Int32
	flaky := engine.Kind{
		Name: "counting", Slots: []string{"input"}, Events: []string{"output"},
		Build: func(map[string]any) (engine.Runner, error) {
			return engine.RunnerFunc(func(ctx context.Context, a *engine.Activation) error {
				if calls.Add(1) < 3 {
					return errors.New("not yet")
				}
				return a.Emit(ctx, "output", "third time")
			}), nil
		},
	}
	h := newHarness(t, flaky)
	res := h.mustComplete(`
flow_id: retry
routines:
  start: {kind: input}
  c:
    kind: counting
    error_policy: {strategy: retry, max_retries: 2, retry_delay: 1ms}
  done:  {kind: output}
connections:
  - {from: start.output, to: c.input}
  - {from: c.output,     to: done.input}
`, nil)
	if res != "third time" || calls.Load() != 3 {
		t.Fatalf("result %v after %d calls", res, calls.Load())
	}
}
