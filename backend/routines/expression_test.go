package routines

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestConcatenationIsBounded(t *testing.T) {
	cases := []struct {
		src, want, err string
	}{
		{src: `"a" + "b"`, want: "ab"},
		{src: `data.name + "!"`, want: "x!"},
		{src: `len(reduce(1..27, #acc + #acc, "` + strings.Repeat("y", 100) + `"))`, err: "memory budget exceeded"},
		{src: `len(reduce(1..900000, #acc + "x", ""))`, err: "memory budget exceeded"},
	}
	for _, c := range cases {
		e, err := CompileExpression(c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		env := map[string]any{"data": map[string]any{"name": "x"}}
		v, err := e.Eval(env)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Fatalf("%s: got %v, %v; want error %q", c.src, v, err, c.err)
		case c.err == "" && (err != nil || v != c.want):
			t.Fatalf("%s: got %v, %v; want %q", c.src, v, err, c.want)
		}
		if _, leaked := env[budgetVar]; leaked {
			t.Fatalf("%s: the budget stayed in the environment", c.src)
		}
	}
	if v, err := mustEval(t, "1 + 2.5"); err != nil || v != 3.5 {
		t.Fatalf("1 + 2.5 = %v, %v", v, err)
	}
}

func mustEval(t *testing.T, src string) (any, error) {
	e, err := CompileExpression(src)
	if err != nil {
		t.Fatal(err)
	}
	return e.Eval(map[string]any{})
}

func TestConditionsMustBeBoolean(t *testing.T) {
	for src, want := range map[string]string{
		"1 + 2":      "expected bool",
		`"a"`:        "expected bool",
		"data.x ==":  "(1:9)",
		"dta.x > 1":  "unknown name dta (1:1)",
		"data.x > 1": "",
	} {
		_, err := CompileCondition(src)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: error %v, want %q", src, err, want)
		}
	}
}

func TestLongEvaluationsStop(t *testing.T) {
	e, err := CompileExpression("sum(1..900, sum(1..900, len(string(data))))")
	if err != nil {
		t.Fatal(err)
	}
	data := strings.Repeat("z", 2000)
	start := time.Now()
	_, err = e.EvalBounded(context.Background(), 50*time.Millisecond, map[string]any{"data": data})
	if err == nil || !strings.Contains(err.Error(), "timed out after 50ms") {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("stopped after %s", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.EvalBounded(ctx, 0, map[string]any{"data": data}); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("cancelled: %v", err)
	}
	quick, _ := CompileExpression("filter(data, # > 1)")
	if v, err := quick.EvalBounded(context.Background(), time.Second, map[string]any{"data": []any{1.0, 2.0, 3.0}}); err != nil || len(v.([]any)) != 2 {
		t.Fatalf("filter: %v %v", v, err)
	}
}
