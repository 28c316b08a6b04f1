package routines

import (
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
)

func TestCatalogue(t *testing.T) {
	reg := engine.NewRegistry()
	Register(reg)
	want := map[string][2][]string{ // kind → slots, events
		"input":     {{"trigger"}, {"output"}},
		"transform": {{"input"}, {"output"}},
		"filter":    {{"input"}, {"true", "false"}},
		"switch":    {{"input"}, nil},
		"delay":     {{"input"}, {"output"}},
		"log":       {{"input"}, {"output"}},
		"split":     {{"input"}, {"item"}},
		"merge":     {{"input"}, {"output"}},
		"script":    {{"input"}, {"output"}},
		"http":      {{"input"}, {"output"}},
		"fail":      {{"input"}, nil},
		"output":    {{"input"}, nil},
	}
	kinds := reg.Kinds()
	if len(kinds) != len(want) {
		t.Fatalf("registered %d kinds, want %d", len(kinds), len(want))
	}
	for _, k := range kinds {
		w, ok := want[k.Name]
		if !ok {
			t.Errorf("unexpected kind %q", k.Name)
			continue
		}
		if !reflect.DeepEqual(k.Slots, w[0]) || !reflect.DeepEqual(k.Events, w[1]) {
			t.Errorf("%s: slots %v events %v, want %v %v", k.Name, k.Slots, k.Events, w[0], w[1])
		}
		if k.Description == "" || strings.Contains(k.Description, "\n") {
			t.Errorf("%s: description must be one line", k.Name)
		}
		for _, f := range k.Config {
			if f.Type == "" || f.Description == "" {
				t.Errorf("%s: config.%s lacks type or description", k.Name, f.Name)
			}
		}
	}
	sw, _ := reg.Kind("switch")
	got := sw.Events(map[string]any{"cases": []any{map[string]any{"when": "true", "event": "big"}}, "default": "rest"})
	if !reflect.DeepEqual(got, []string{"big", "rest"}) {
		t.Errorf("switch events = %v", got)
	}
	// Validation calls it with whatever the user wrote.
	for _, cfg := range []map[string]any{nil, {"cases": "x"}, {"cases": []any{1, nil, map[string]any{"event": 3}}}, {"default": 5}} {
		if got := sw.Events(cfg); !reflect.DeepEqual(got, []string{"default"}) {
			t.Errorf("switch events for %v = %v", cfg, got)
		}
	}
	if !sw.BoundsCycles() {
		t.Error("switch must bound cycles")
	}
}

func TestInputTransformOutput(t *testing.T) {
	h := newHarness(t)
	res := h.mustComplete(`
flow_id: orders
routines:
  start:  {kind: input}
  double: {kind: transform, config: {expr: "{value: data.value * 2, job: job.id != '', kind: routine.kind, slot: slot}"}}
  done:   {kind: output}
connections:
  - {from: start.output,  to: double.input}
  - {from: double.output, to: done.input, param_mapping: {value: total}}
`, map[string]any{"value": 21.0})
	want := map[string]any{"total": 42.0, "job": true, "kind": "transform", "slot": "input"}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("result = %#v, want %#v", res, want)
	}
}

func TestInputPassesParamsUnchanged(t *testing.T) {
	h := newHarness(t)
	params := map[string]any{"a": []any{1.0, "x"}, "b": map[string]any{"c": nil}}
	res := h.mustComplete(`
flow_id: echo
routines:
  start: {kind: input}
  done:  {kind: output}
connections:
  - {from: start.output, to: done.input}
`, params)
	if !reflect.DeepEqual(res, params) {
		t.Fatalf("result = %#v", res)
	}
}

func TestFilterRouting(t *testing.T) {
	h := newHarness(t)
	res := h.mustComplete(`
flow_id: filt
routines:
  start: {kind: input}
  each:  {kind: split, config: {expr: data.items}}
  big:   {kind: filter, config: {expr: "data > 2"}}
  yes:   {kind: transform, config: {expr: "'big ' + string(data)"}}
  no:    {kind: transform, config: {expr: "'small ' + string(data)"}}
  done:  {kind: output, config: {mode: append}}
connections:
  - {from: start.output, to: each.input}
  - {from: each.item,    to: big.input}
  - {from: big.true,     to: yes.input}
  - {from: big.false,    to: no.input}
  - {from: yes.output,   to: done.input}
  - {from: no.output,    to: done.input}
`, map[string]any{"items": []any{1.0, 2.0, 3.0, 4.0}})
	got := toStrings(res)
	sort.Strings(got)
	want := []string{"big 3", "big 4", "small 1", "small 2"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("result = %v, want %v", got, want)
	}
}

func TestFilterNonBoolFails(t *testing.T) {
	h := newHarness(t)
	_, st := h.run(`
flow_id: filt
routines:
  start: {kind: input}
  f:     {kind: filter, config: {expr: data.value}}
  done:  {kind: output}
connections:
  - {from: start.output, to: f.input}
  - {from: f.true,       to: done.input}
`, map[string]any{"value": "yes"})
	if st.Status != events.StatusFailed || !strings.Contains(st.Error, "want true or false") {
		t.Fatalf("status %s error %q", st.Status, st.Error)
	}
}

const switchFlow = `
flow_id: sw
routines:
  start: {kind: input}
  sw:
    kind: switch
    config:
      cases:
        - {when: "data.n > 100", event: huge}
        - {when: "data.n > 10",  event: big}
      default: small
  h:     {kind: transform, config: {expr: "'huge'"}}
  b:     {kind: transform, config: {expr: "'big'"}}
  s:     {kind: transform, config: {expr: "'small'"}}
  done:  {kind: output}
connections:
  - {from: start.output, to: sw.input}
  - {from: sw.huge,      to: h.input}
  - {from: sw.big,       to: b.input}
  - {from: sw.small,     to: s.input}
  - {from: h.output,     to: done.input}
  - {from: b.output,     to: done.input}
  - {from: s.output,     to: done.input}
`

func TestSwitch(t *testing.T) {
	h := newHarness(t)
	for n, want := range map[float64]string{500: "huge", 50: "big", 5: "small"} {
		if got := h.mustComplete(switchFlow, map[string]any{"n": n}); got != want {
			t.Errorf("n=%v: result %v, want %s", n, got, want)
		}
	}
}

func TestSwitchDefaultEventName(t *testing.T) {
	h := newHarness(t)
	res := h.mustComplete(`
flow_id: swd
routines:
  start: {kind: input}
  sw:    {kind: switch, config: {cases: [{when: "false", event: never}]}}
  done:  {kind: output}
connections:
  - {from: start.output, to: sw.input}
  - {from: sw.default,   to: done.input}
`, "x")
	if res != "x" {
		t.Fatalf("result = %v", res)
	}
}

func TestDelay(t *testing.T) {
	h := newHarness(t)
	began := time.Now()
	res := h.mustComplete(`
flow_id: d
routines:
  start: {kind: input}
  wait:  {kind: delay, config: {ms: 50}}
  done:  {kind: output}
connections:
  - {from: start.output, to: wait.input}
  - {from: wait.output,  to: done.input}
`, 7.0)
	if res != 7.0 {
		t.Fatalf("result = %v", res)
	}
	if el := time.Since(began); el < 50*time.Millisecond {
		t.Fatalf("delay returned after %s", el)
	}
}

func TestDelayCancelIsPrompt(t *testing.T) {
	h := newHarness(t)
	id := h.start(`
flow_id: d
routines:
  start: {kind: input}
  wait:  {kind: delay, config: {ms: 60000}}
  done:  {kind: output}
connections:
  - {from: start.output, to: wait.input}
  - {from: wait.output,  to: done.input}
`, nil)
	at := h.cancelWhenRunning(id, "wait")
	st := h.wait(id)
	if el := time.Since(at); el > 2*time.Second {
		t.Fatalf("cancel took %s", el)
	}
	if st.Status != events.StatusCancelled {
		t.Fatalf("status %s", st.Status)
	}
}

func TestLogTemplate(t *testing.T) {
	h := newHarness(t)
	id, st := h.run(`
flow_id: lg
routines:
  start: {kind: input}
  note:  {kind: log, config: {level: warning, message: "order {{ data.id }} of {{ data.items }} total={{ data.total * 2 }} missing={{ data.nope }}"}}
  plain: {kind: log}
  done:  {kind: output}
connections:
  - {from: start.output, to: note.input}
  - {from: note.output,  to: plain.input}
  - {from: plain.output, to: done.input}
`, map[string]any{"id": "A1", "items": []any{"x", "<y>"}, "total": 2.5})
	if st.Status != events.StatusCompleted {
		t.Fatalf("status %s: %s", st.Status, st.Error)
	}
	logs := map[string]events.Event{}
	for _, ev := range h.rec.of(id, events.Log) {
		logs[ev.RoutineID] = ev
	}
	if ev := logs["note"]; ev.Level != "warning" || ev.Message != `order A1 of ["x","<y>"] total=5 missing=null` {
		t.Errorf("note log = %q %q", ev.Level, ev.Message)
	}
	if ev := logs["plain"]; ev.Level != "info" || ev.Message != `{"id":"A1","items":["x","<y>"],"total":2.5}` {
		t.Errorf("plain log = %q %q", ev.Level, ev.Message)
	}
	if m, _ := st.Result.(map[string]any); m["id"] != "A1" {
		t.Errorf("log must pass data on, result = %v", st.Result)
	}
}

func TestOutputModes(t *testing.T) {
	h := newHarness(t)
	src := `
flow_id: out
routines:
  start: {kind: input}
  each:  {kind: split}
  done:  {kind: output, config: {mode: MODE}}
connections:
  - {from: start.output, to: each.input}
  - {from: each.item,    to: done.input}
`
	if got := h.mustComplete(strings.Replace(src, "MODE", "append", 1), []any{1.0, 2.0, 3.0}); !reflect.DeepEqual(got, []any{1.0, 2.0, 3.0}) {
		t.Errorf("append result = %v", got)
	}
	if got := h.mustComplete(strings.Replace(src, "MODE", "last", 1), []any{1.0, 2.0, 3.0}); got != 3.0 {
		t.Errorf("last result = %v", got)
	}
}

func TestSplitTypedAndEmpty(t *testing.T) {
	h := newHarness(t)
	src := `
flow_id: sp
routines:
  start: {kind: input}
  each:  {kind: split, config: {expr: EXPR}}
  done:  {kind: output, config: {mode: append}}
connections:
  - {from: start.output, to: each.input}
  - {from: each.item,    to: done.input}
`
	if got := h.mustComplete(strings.Replace(src, "EXPR", `"1..3"`, 1), nil); !reflect.DeepEqual(got, []any{1, 2, 3}) {
		t.Errorf("range result = %#v", got)
	}
	if got := h.mustComplete(strings.Replace(src, "EXPR", `"[]"`, 1), nil); got != nil {
		t.Errorf("empty result = %#v", got)
	}
	_, st := h.run(strings.Replace(src, "EXPR", "data", 1), map[string]any{"a": 1.0})
	if st.Status != events.StatusFailed || !strings.Contains(st.Error, "want an array") {
		t.Errorf("object split: %s %q", st.Status, st.Error)
	}
}

func TestFanOutFanIn(t *testing.T) {
	h := newHarness(t)
	src := `
flow_id: fan
execution: {strategy: concurrent, max_workers: 4}
routines:
  start: {kind: input}
  a:     {kind: transform, config: {expr: "{a: data.x + 1, same: 'a'}"}}
  b:     {kind: delay,     config: {ms: 30}}
  c:     {kind: transform, config: {expr: "{c: data.x * 3, same: 'c'}"}}
  m:     {kind: merge, config: {strategy: STRATEGY}}
  done:  {kind: output, config: {mode: append}}
connections:
  - {from: start.output, to: a.input}
  - {from: start.output, to: b.input}
  - {from: start.output, to: c.input}
  - {from: a.output,     to: m.input}
  - {from: b.output,     to: m.input}
  - {from: c.output,     to: m.input}
  - {from: m.output,     to: done.input}
`
	res := h.mustComplete(strings.Replace(src, "STRATEGY", "override", 1), map[string]any{"x": 2.0})
	list, _ := res.([]any)
	if len(list) != 1 {
		t.Fatalf("merge emitted %d times: %v", len(list), res)
	}
	m := list[0].(map[string]any)
	// b (a delay) arrives last, so its x and no "same" override; a and c
	// race for "same".
	if m["a"] != 3.0 || m["c"] != 6.0 || m["x"] != 2.0 || (m["same"] != "a" && m["same"] != "c") {
		t.Fatalf("merged = %v", m)
	}

	res = h.mustComplete(strings.Replace(src, "STRATEGY", "append", 1), map[string]any{"x": 2.0})
	list, _ = res.([]any)
	if len(list) != 1 || len(list[0].([]any)) != 3 {
		t.Fatalf("append merge = %v", res)
	}
	if last := list[0].([]any)[2]; !reflect.DeepEqual(last, map[string]any{"x": 2.0}) {
		t.Fatalf("delayed payload should arrive last: %v", list[0])
	}
}

// TestSplitMergeRounds sends every split item down two branches into one
// merge: the branches deliver several payloads each before the other has
// caught up, and every round must still pair one payload of each branch.
func TestSplitMergeRounds(t *testing.T) {
	h := newHarness(t)
	const n = 20
	items := make([]any, n)
	for i := range items {
		items[i] = float64(i)
	}
	id, st := h.run(`
flow_id: sm
execution: {strategy: concurrent, max_workers: 4}
routines:
  start:  {kind: input}
  each:   {kind: split, config: {expr: data.items}}
  double: {kind: transform, config: {expr: "{from: 'double', v: data * 2}"}}
  square: {kind: script, config: {code: "return {from: 'square', v: data * data};"}}
  m:      {kind: merge, config: {strategy: append}}
  done:   {kind: output, config: {mode: append}}
connections:
  - {from: start.output,  to: each.input}
  - {from: each.item,     to: double.input}
  - {from: each.item,     to: square.input}
  - {from: double.output, to: m.input}
  - {from: square.output, to: m.input}
  - {from: m.output,      to: done.input}
`, map[string]any{"items": items})
	if st.Status != events.StatusCompleted {
		t.Fatalf("status %s: %s", st.Status, st.Error)
	}
	rounds, _ := st.Result.([]any)
	if len(rounds) != n {
		t.Fatalf("merge emitted %d rounds, want %d", len(rounds), n)
	}
	var doubles, squares []float64
	for _, r := range rounds {
		pair := r.([]any)
		if len(pair) != 2 {
			t.Fatalf("round %v", pair)
		}
		from := map[string]bool{}
		for _, p := range pair {
			obj := p.(map[string]any)
			from[obj["from"].(string)] = true
			if obj["from"] == "double" {
				doubles = append(doubles, obj["v"].(float64))
			} else {
				squares = append(squares, obj["v"].(float64))
			}
		}
		if !from["double"] || !from["square"] {
			t.Fatalf("round without one payload of each source: %v", pair)
		}
	}
	sort.Float64s(doubles)
	sort.Float64s(squares)
	for i := range n {
		if doubles[i] != float64(2*i) || squares[i] != float64(i*i) {
			t.Fatalf("lost or duplicated payloads: %v %v", doubles, squares)
		}
	}
	if got := len(h.rec.of(id, events.RoutineStarted)); got != 1+1+2*n+2*n+n {
		t.Errorf("%d activations", got)
	}
}

func TestMergeOverrideRejectsNonObjects(t *testing.T) {
	h := newHarness(t)
	_, st := h.run(`
flow_id: mo
routines:
  start: {kind: input}
  a:     {kind: transform, config: {expr: "[1]"}}
  b:     {kind: transform, config: {expr: "{b: 1}"}}
  m:     {kind: merge}
  done:  {kind: output}
connections:
  - {from: start.output, to: a.input}
  - {from: start.output, to: b.input}
  - {from: a.output,     to: m.input}
  - {from: b.output,     to: m.input}
  - {from: m.output,     to: done.input}
`, nil)
	if st.Status != events.StatusFailed || !strings.Contains(st.Error, `payload from "a.output" is a list, not an object`) {
		t.Fatalf("status %s error %q", st.Status, st.Error)
	}
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, len(list))
	for i, x := range list {
		out[i], _ = x.(string)
	}
	return out
}

// TestMergeQueuesRepeatedSource: a delivers both its payloads before b
// delivers any; the second payload of a must wait for the second round.
func TestMergeQueuesRepeatedSource(t *testing.T) {
	h := newHarness(t)
	res := h.mustComplete(`
flow_id: mq
routines:
  start: {kind: input}
  sa:    {kind: split}
  a:     {kind: transform, config: {expr: "{a: data}"}}
  hop:   {kind: transform, config: {expr: data}}
  sb:    {kind: split}
  b:     {kind: transform, config: {expr: "{b: data * 10}"}}
  m:     {kind: merge, config: {strategy: append}}
  done:  {kind: output, config: {mode: append}}
connections:
  - {from: start.output, to: sa.input}
  - {from: start.output, to: hop.input}
  - {from: sa.item,      to: a.input}
  - {from: hop.output,   to: sb.input}
  - {from: sb.item,      to: b.input}
  - {from: a.output,     to: m.input}
  - {from: b.output,     to: m.input}
  - {from: m.output,     to: done.input}
`, []any{1.0, 2.0})
	want := []any{
		[]any{map[string]any{"a": 1.0}, map[string]any{"b": 10.0}},
		[]any{map[string]any{"a": 2.0}, map[string]any{"b": 20.0}},
	}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("rounds = %v, want %v", res, want)
	}
}

// TestMergeTellsEventsOfOneRoutineApart: filter.true and filter.false are
// two inputs of the merge, though one routine emits both.
func TestMergeTellsEventsOfOneRoutineApart(t *testing.T) {
	h := newHarness(t)
	_, st := h.run(`
flow_id: me
routines:
  start: {kind: input}
  items: {kind: split, config: {expr: "data.list"}}
  big:   {kind: filter, config: {expr: "data >= 50"}}
  m:     {kind: merge, config: {strategy: append}}
  done:  {kind: output}
connections:
  - {from: start.output, to: items.input}
  - {from: items.item,   to: big.input}
  - {from: big.true,     to: m.input}
  - {from: big.false,    to: m.input}
  - {from: m.output,     to: done.input}
`, map[string]any{"list": []any{1.0, 100.0}})
	if st.Status != events.StatusCompleted {
		t.Fatalf("status %s error %q", st.Status, st.Error)
	}
	if list, _ := st.Result.([]any); len(list) != 2 {
		t.Fatalf("merge did not emit one round of both events: result %v", st.Result)
	}
}
