package debug

import (
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/store"
)

// FuzzBreakpointRecord compiles breakpoints as POST …/breakpoints gets
// them (condition, hit condition, log message): no input panics, and what
// compiles evaluates its condition and renders its log message.
func FuzzBreakpointRecord(f *testing.F) {
	f.Add("data.value > 1", ">= 3", "value {{ data.value }}")
	f.Add("data.value % 3 == 0", "% 10", "")
	f.Add("1 + 2", "5", "{{")
	f.Add(`reduce(1..27, #acc + #acc, "x") != ""`, "", "{{ reduce(1..27, #acc + #acc, 'x') }}")
	f.Add("", "%0", "}}{{")
	f.Fuzz(func(t *testing.T, condition, hit, logMessage string) {
		c, err := compile(store.Breakpoint{ID: "bp_1", Type: "routine", RoutineID: "r", Scope: store.ScopeJob,
			ScopeID: "job_1", Condition: condition, HitCondition: hit, LogMessage: logMessage, Enabled: true})
		if err != nil {
			return
		}
		env := map[string]any{"data": map[string]any{"value": 4.0}, "shared": map[string]any{}, "slot": "input"}
		if c.condition != nil {
			_, _ = c.condition.EvalBounded(t.Context(), 100*time.Millisecond, env)
		}
		if c.logTmpl != nil {
			_, _ = c.logTmpl.Render(env)
		}
		c.hitCond.stops(3)
	})
}
