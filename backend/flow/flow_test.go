package flow_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/backend/flow"
)

// kinds is a small catalogue for validation tests.
type kinds map[string]kind

type kind struct {
	slots, events []string
	cycles        bool
	bad           string // CheckConfig fails if config has this key
}

func (k kind) Slots(map[string]any) []string  { return k.slots }
func (k kind) Events(map[string]any) []string { return k.events }
func (k kind) BoundsCycles() bool             { return k.cycles }
func (k kind) CheckConfig(cfg map[string]any) error {
	if _, ok := cfg[k.bad]; ok && k.bad != "" {
		return errBadConfig
	}
	return nil
}

type configError string

func (e configError) Error() string { return string(e) }

const errBadConfig = configError("config.expr does not compile")

func (c kinds) Kind(name string) (flow.KindInfo, bool) {
	k, ok := c[name]
	return k, ok
}

var catalogue = kinds{
	"input":     {slots: []string{"trigger"}, events: []string{"output"}},
	"transform": {slots: []string{"input"}, events: []string{"output"}, bad: "broken"},
	"filter":    {slots: []string{"input"}, events: []string{"true", "false"}, cycles: true},
	"output":    {slots: []string{"input"}},
}

const orders = `
flow_id: orders
name: Orders
routines:
  start:  {kind: input}
  double: {kind: transform, config: {expr: "{value: data.value * 2}"}}
  done:   {kind: output}
connections:
  - {from: start.output,  to: double.input}
  - {from: double.output, to: done.input, param_mapping: {value: total}}
execution: {strategy: concurrent, max_workers: 3, timeout: 30s}
`

func TestParseYAMLAndJSONAgreeAndRoundTrip(t *testing.T) {
	fromYAML, err := flow.Parse([]byte(orders))
	if err != nil {
		t.Fatal(err)
	}
	if fromYAML.Workers() != 3 || fromYAML.Timeout().String() != "30s" {
		t.Fatalf("execution: workers %d timeout %s", fromYAML.Workers(), fromYAML.Timeout())
	}
	js, err := fromYAML.JSON()
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := flow.Parse(js)
	if err != nil {
		t.Fatalf("re-parse JSON: %v\n%s", err, js)
	}
	ym, err := fromJSON.YAML()
	if err != nil {
		t.Fatal(err)
	}
	again, err := flow.Parse(ym)
	if err != nil {
		t.Fatalf("re-parse YAML: %v\n%s", err, ym)
	}
	js2, _ := again.JSON()
	if !bytes.Equal(js, js2) {
		t.Fatalf("round trip changed the flow:\n%s\n---\n%s", js, js2)
	}
	if again.Connections[1].ParamMapping["value"] != "total" {
		t.Fatalf("param_mapping lost: %+v", again.Connections[1])
	}
	if again.Routines["double"].Config["expr"] != "{value: data.value * 2}" {
		t.Fatalf("config lost: %+v", again.Routines["double"])
	}
}

func TestParseErrorsNameTheProblem(t *testing.T) {
	cases := map[string]string{
		"":                                       "empty",
		"{":                                      "JSON",
		"flow_id: [unclosed":                     "YAML",
		"- just\n- a list":                       "mapping",
		`{"flow_id": 3}`:                         `"flow_id"`,
		`{"flow_id": "x", "routinez": {}}`:       "routinez",
		"flow_id: x\nexecution: {timeout: soon}": "duration",
		`{"flow_id":"x"} trailing`:               "after",
	}
	for src, want := range cases {
		_, err := flow.Parse([]byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error mentioning %q", src, err, want)
		}
	}
}

func TestValidateAcceptsGoodFlow(t *testing.T) {
	f, _ := flow.Parse([]byte(orders))
	res := flow.Validate(f, catalogue)
	if !res.Valid || len(res.Errors) != 0 || len(res.Warnings) != 0 {
		t.Fatalf("%+v", res)
	}
}

func TestValidateReportsEachProblemWithItsLocation(t *testing.T) {
	src := `
flow_id: bad
routines:
  start: {kind: input}
  t:     {kind: transform, config: {broken: true}}
  loop:  {kind: transform}
  mystery: {kind: teleport}
  retry: {kind: transform, error_policy: {strategy: sometimes}}
  orphan: {kind: output}
connections:
  - {from: start.output, to: t.nowhere}
  - {from: start.outptu, to: t.input}
  - {from: ghost.output, to: t.input}
  - {from: start, to: t.input}
  - {from: loop.output, to: loop.input}
execution: {strategy: sideways}
`
	f, err := flow.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	res := flow.Validate(f, catalogue)
	if res.Valid {
		t.Fatal("invalid flow passed")
	}
	want := map[string]string{ // code → routine (or "#n" for a connection index)
		flow.CodeBadConfig:      "t",
		flow.CodeUnknownKind:    "mystery",
		flow.CodeBadPolicy:      "retry",
		flow.CodeUnknownSlot:    "#0",
		flow.CodeUnknownEvent:   "#1",
		flow.CodeDangling:       "#2",
		flow.CodeBadEndpoint:    "#3",
		flow.CodeUnboundedCycle: "loop",
		flow.CodeBadExecution:   "",
	}
	for code, where := range want {
		found := false
		for _, is := range res.Errors {
			if is.Code != code {
				continue
			}
			switch {
			case strings.HasPrefix(where, "#"):
				found = is.Connection != nil && "#"+strconv.Itoa(*is.Connection) == where
			default:
				found = is.RoutineID == where
			}
			if found {
				break
			}
		}
		if !found {
			t.Errorf("no %s error at %q in %+v", code, where, res.Errors)
		}
	}
	if len(res.Warnings) == 0 {
		t.Errorf("unreachable routines not warned about")
	}
}

func TestValidateCycleThroughFilterIsBounded(t *testing.T) {
	f, _ := flow.Parse([]byte(`
flow_id: loop
routines:
  start: {kind: input}
  step: {kind: transform}
  more: {kind: filter}
connections:
  - {from: start.output, to: step.input}
  - {from: step.output, to: more.input}
  - {from: more.true, to: step.input}
`))
	if res := flow.Validate(f, catalogue); !res.Valid {
		t.Fatalf("%+v", res.Errors)
	}
}

func TestValidateNeedsEntryAndID(t *testing.T) {
	f, _ := flow.Parse([]byte(`{"routines": {"t": {"kind": "transform"}}, "connections": []}`))
	res := flow.Validate(f, catalogue)
	codes := map[string]bool{}
	for _, e := range res.Errors {
		codes[e.Code] = true
	}
	if !codes[flow.CodeMissingID] || !codes[flow.CodeNoEntry] {
		t.Fatalf("%+v", res.Errors)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(orders))
	f.Add([]byte(`{"flow_id":"x","routines":{"a":{"kind":"input"}},"connections":[{"from":"a.output","to":"a.trigger"}]}`))
	f.Add([]byte("flow_id: x\nroutines: {a: {kind: input, config: {n: .inf}}}"))
	f.Add([]byte("&a [*a, *a]"))
	f.Fuzz(func(t *testing.T, src []byte) {
		fl, err := flow.Parse(src)
		if err != nil {
			return
		}
		res := flow.Validate(fl, catalogue) // must not panic on anything Parse accepts
		if res.Valid && fl.ID == "" {
			t.Fatal("valid flow without id")
		}
		if _, err := fl.YAML(); err != nil {
			t.Fatalf("YAML of a parsed flow: %v", err)
		}
	})
}

func TestParseRefusesYAMLAliases(t *testing.T) {
	bomb := "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b]\n"
	if _, err := flow.Parse([]byte(bomb)); err == nil || !strings.Contains(err.Error(), "aliases") {
		t.Fatalf("alias document: %v", err)
	}
}

func TestParseRefusesAbsurdNestingQuickly(t *testing.T) {
	n := 400000
	cases := []string{
		"flow_id: x\nroutines: " + strings.Repeat("[", n) + strings.Repeat("]", n),
		"flow_id: x\nroutines: " + strings.Repeat("{a: ", n) + "1" + strings.Repeat("}", n),
		"flow_id: x\nroutines:\n" + strings.Repeat("- ", n) + "x\n",
		"flow_id: x\nroutines:\n" + strings.Repeat("? ", n) + "x\n",
		"flow_id: x\nroutines:\n" + strings.Repeat("- a: ", n) + "x\n",
	}
	for _, src := range cases {
		if _, err := flow.Parse([]byte(src)); err == nil || !strings.Contains(err.Error(), "invalid YAML") {
			t.Errorf("nesting not refused: %v", err)
		}
	}
	// A quote cannot hide nesting from the check.
	hidden := "flow_id: x\nname: don't\nroutines: " + strings.Repeat("[", n) + strings.Repeat("]", n)
	if _, err := flow.Parse([]byte(hidden)); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Errorf("nesting behind a quote not refused: %v", err)
	}
	// Expressions nest a few levels: fine, and brackets inside strings do not count.
	ok := "flow_id: x\nroutines: {a: {kind: transform, config: {expr: '{v: [[data.x], {y: [1]}]}', s: '" + strings.Repeat("[", 200) + "'}}}\n"
	if _, err := flow.Parse([]byte(ok)); err != nil {
		t.Fatalf("ordinary nesting refused: %v", err)
	}
	// Deep indentation alone is only whitespace.
	if _, err := flow.Parse([]byte("flow_id: x\nroutines:\n" + strings.Repeat(" ", 2000) + "a: {kind: input}\n")); err != nil {
		t.Errorf("deep indentation: %v", err)
	}
	// JSON is bounded the same way, brackets in strings not counted.
	deep := `{"flow_id":"x","routines":{"a":{"kind":"input","config":{"x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}}}}`
	if _, err := flow.Parse([]byte(deep)); err == nil || !strings.Contains(err.Error(), "nested more than 64") {
		t.Errorf("deep JSON: %v", err)
	}
	okJSON := `{"flow_id":"x","routines":{"a":{"kind":"input","config":{"x":"` + strings.Repeat("[", 200) + `\"["}}}}`
	if _, err := flow.Parse([]byte(okJSON)); err != nil {
		t.Errorf("brackets in a JSON string: %v", err)
	}
}
