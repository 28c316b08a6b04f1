package routines

import (
	"context"
	"testing"
	"time"
)

// FuzzExpression compiles what a flow's config or the debugger's evaluate
// console may hold and runs what compiles against a job-like scope: no
// input panics, and every run ends within its time limit (the fuzzer's own
// timeout catches one that does not), however it grows.
func FuzzExpression(f *testing.F) {
	for _, s := range []string{
		"data.value * 2", "{value: data.value + 1}", `data.name ?? 'anonymous'`, "len(data.items) > 2",
		`reduce(1..27, #acc + #acc, "xxxxxxxxxx")`, `reduce(1..30, replace(#acc, 'x', 'xx'), 'x')`,
		"map(1..1000000, # * 2)", "1 / 0", "data.missing.deeper", "[data, data]", `toJSON(data)`,
		"filter(data.items, # > 1)", `repeat("ab", 1000000000)`, "((((((((1))))))))", "", ")(", `"\xff"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := CompileExpression(src)
		if err != nil {
			return
		}
		env := map[string]any{
			"data":    map[string]any{"value": 21.0, "name": "ada", "items": []any{1.0, 2.0, 3.0}},
			"job":     map[string]any{"id": "job_1", "params": map[string]any{}},
			"routine": map[string]any{"id": "r", "kind": "transform"},
			"slot":    "input",
			"shared":  map[string]any{},
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, _ = e.EvalBounded(ctx, 100*time.Millisecond, env)
		if _, err := CompileCondition(src); err == nil && src == "" {
			t.Fatal("an empty condition compiled")
		}
	})
}
