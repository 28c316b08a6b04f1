package routines

import (
	"context"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
)

const bigOutputFlow = `
flow_id: big
routines:
  start: {kind: input}
  js:
    kind: big
    error_policy: POLICY
  done:  {kind: output}
connections:
  - {from: start.output, to: js.input}
  - {from: js.output,    to: done.input}
`

// bigKind emits {s: "xxx…"} with data.n x's.
var bigKind = engine.Kind{
	Name: "big", Description: "test: a large output", Slots: []string{"input"}, Events: []string{"output"},
	Build: func(map[string]any) (engine.Runner, error) {
		return engine.RunnerFunc(func(ctx context.Context, a *engine.Activation) error {
			n := int(a.Data.(map[string]any)["n"].(float64))
			return a.Emit(ctx, "output", map[string]any{"s": strings.Repeat("x", n)})
		}), nil
	},
}

func TestOutputOverTheLimitFailsTheActivation(t *testing.T) {
	h := newHarness(t, bigKind) // engine.Options{}: the default 1 MB limit
	run := func(policy string, n float64) (string, *events.JobState) {
		return h.run(strings.Replace(bigOutputFlow, "POLICY", policy, 1), map[string]any{"n": n})
	}
	id, st := run("{strategy: stop}", 3<<20)
	want := `routine "js" failed: emitted 3 MB on "output", more than the 1 MB limit (--max-output-bytes)`
	if st.Status != events.StatusFailed || st.Error != want {
		t.Fatalf("status %s error %q, want %q", st.Status, st.Error, want)
	}
	if f := h.rec.of(id, events.RoutineFailed); len(f) != 1 || f[0].ErrorType != "OutputTooLarge" {
		t.Fatalf("failures %+v", f)
	}
	if n := len(h.rec.of(id, events.EventEmit)); n != 1 { // the input's only
		t.Fatalf("%d emits published", n)
	}
	// Just under the limit passes ({"s":"…"} is 8 bytes more than n).
	if _, st := run("{strategy: stop}", 1<<20-8); st.Status != events.StatusCompleted {
		t.Fatalf("at the limit: %s %q", st.Status, st.Error)
	}
	// The error policy applies.
	if _, st := run("{strategy: continue}", 3<<20); st.Status != events.StatusCompleted || st.NodesFailed != 1 {
		t.Fatalf("continue: %s, %d failed", st.Status, st.NodesFailed)
	}
	id, st = run("{strategy: retry, max_retries: 1, retry_delay: 1ms}", 3<<20)
	if n := len(h.rec.of(id, events.RoutineFailed)); st.Status != events.StatusFailed || n != 2 {
		t.Fatalf("retry: %s, %d failures", st.Status, n)
	}
}

func TestOutputLimitIsConfigurable(t *testing.T) {
	reg := engine.NewRegistry()
	Register(reg)
	reg.MustRegister(bigKind)
	rec := &recorder{}
	h := &harness{t: t, eng: engine.New(reg, rec, engine.Options{MaxOutputBytes: 100 << 10}), rec: rec}
	_, st := h.run(strings.Replace(bigOutputFlow, "POLICY", "{strategy: stop}", 1), map[string]any{"n": float64(200 << 10)})
	if !strings.Contains(st.Error, "emitted 200 KB on \"output\", more than the 100 KB limit") {
		t.Fatalf("error %q", st.Error)
	}
	h = &harness{t: t, eng: engine.New(reg, rec, engine.Options{MaxOutputBytes: -1}), rec: rec}
	if _, st := h.run(strings.Replace(bigOutputFlow, "POLICY", "{strategy: stop}", 1), map[string]any{"n": float64(3 << 20)}); st.Status != events.StatusCompleted {
		t.Fatalf("no limit: %s %q", st.Status, st.Error)
	}
}
