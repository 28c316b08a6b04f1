package routines

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/events"
)

const scriptFlow = `
flow_id: js
routines:
  start: {kind: input}
  js:    {kind: script, config: CONFIG}
  done:  {kind: output}
connections:
  - {from: start.output, to: js.input}
  - {from: js.output,    to: done.input}
`

func scriptJob(h *harness, config string, params any) (string, *events.JobState) {
	h.t.Helper()
	return h.run(strings.Replace(scriptFlow, "CONFIG", config, 1), params)
}

func TestScript(t *testing.T) {
	h := newHarness(t)
	id, st := scriptJob(h, `{code: "log('got', data.n, data); data.n = 99; var out = params; return {sum: data.items.reduce(function (a, b) { return a + b; }, 0), n: data.n, p: out.n, int: 3, d: new Date(0), u: undefined, shared: typeof shared};"}`,
		map[string]any{"n": 1.0, "items": []any{1.0, 2.0, 3.5}})
	if st.Status != events.StatusCompleted {
		t.Fatalf("status %s: %s", st.Status, st.Error)
	}
	want := map[string]any{"sum": 6.5, "n": 99.0, "p": 1.0, "int": 3.0, "d": "1970-01-01T00:00:00Z", "shared": "object", "u": nil} // undefined becomes null
	if !reflect.DeepEqual(st.Result, want) {
		t.Errorf("result = %#v\nwant %#v", st.Result, want)
	}
	// The script changed its copy of data, not the job's params.
	if p := st.Params.(map[string]any); p["n"] != 1.0 {
		t.Errorf("script mutated params: %v", p)
	}
	logs := h.rec.of(id, events.Log)
	if len(logs) != 1 || logs[0].Level != "info" || logs[0].Message != `got 1 {"items":[1,2,3.5],"n":1}` {
		t.Errorf("logs = %+v", logs)
	}
}

func TestScriptNoHostAccess(t *testing.T) {
	h := newHarness(t)
	_, st := scriptJob(h, `{code: "return [typeof require, typeof console, typeof process, typeof setTimeout];"}`, nil)
	want := []any{"undefined", "undefined", "undefined", "undefined"}
	if st.Status != events.StatusCompleted || !reflect.DeepEqual(st.Result, want) {
		t.Fatalf("status %s result %v error %q", st.Status, st.Result, st.Error)
	}
}

func TestScriptSharedIsReadOnly(t *testing.T) {
	h := newHarness(t)
	_, st := scriptJob(h, `{code: "'use strict'; shared.x = 1; return 1;"}`, nil)
	if st.Status != events.StatusFailed || !strings.Contains(st.Error, "TypeError") {
		t.Fatalf("status %s error %q", st.Status, st.Error)
	}
}

func TestScriptThrow(t *testing.T) {
	h := newHarness(t)
	id, st := scriptJob(h, `{code: "if (data.ok !== true) {\n  throw new RangeError('value ' + data.v + ' out of range');\n}\nreturn 1;"}`, map[string]any{"v": 5.0})
	if st.Status != events.StatusFailed || !strings.Contains(st.Error, "RangeError: value 5 out of range (line 2:") {
		t.Fatalf("status %s error %q", st.Status, st.Error)
	}
	if f := h.rec.of(id, events.RoutineFailed); len(f) != 1 || f[0].ErrorType != "RangeError" {
		t.Fatalf("failures %+v", f)
	}
	_, st = scriptJob(h, `{code: "throw 'plain string';"}`, nil)
	if !strings.Contains(st.Error, "plain string") {
		t.Fatalf("error %q", st.Error)
	}
}

func TestScriptNonJSONResults(t *testing.T) {
	h := newHarness(t)
	for code, want := range map[string]string{
		"var o = {}; o.self = o; return o;":        "not JSON",
		"return function () {};":                   "returned a function",
		"return NaN;":                              "not JSON",
		"function f() { return f(); } return f();": "maximum call stack size exceeded",
	} {
		_, st := scriptJob(h, `{code: "`+code+`"}`, nil)
		if st.Status != events.StatusFailed || !strings.Contains(st.Error, want) {
			t.Errorf("%s: status %s error %q", code, st.Status, st.Error)
		}
	}
}

func TestScriptTimeout(t *testing.T) {
	h := newHarness(t)
	began := time.Now()
	id, st := scriptJob(h, `{code: "while (true) {}", timeout_ms: 200}`, nil)
	if el := time.Since(began); el > 3*time.Second {
		t.Fatalf("timeout took %s", el)
	}
	if st.Status != events.StatusFailed || !strings.Contains(st.Error, "script timed out after 200ms") {
		t.Fatalf("status %s error %q", st.Status, st.Error)
	}
	if f := h.rec.of(id, events.RoutineFailed); len(f) != 1 || f[0].ErrorType != "TimeoutError" {
		t.Fatalf("failures %+v", f)
	}
}

func TestScriptCancelIsPrompt(t *testing.T) {
	h := newHarness(t)
	id := h.start(strings.Replace(scriptFlow, "CONFIG", `{code: "for (;;) {}", timeout_ms: 60000}`, 1), nil)
	at := h.cancelWhenRunning(id, "js")
	st := h.wait(id)
	if el := time.Since(at); el > 2*time.Second {
		t.Fatalf("cancel took %s", el)
	}
	if st.Status != events.StatusCancelled {
		t.Fatalf("status %s", st.Status)
	}
}
