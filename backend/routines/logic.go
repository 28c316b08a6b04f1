package routines

import (
	"context"
	"fmt"
	"reflect"

	"github.com/switchyard/switchyard/backend/engine"
)

// transformKind evaluates an expression and emits its result.
func transformKind() engine.Kind {
	return engine.Kind{
		Name:        "transform",
		Description: "Evaluates an expression over the payload and emits the result on output.",
		Slots:       []string{slotInput},
		Events:      []string{eventOutput},
		Config: []engine.ConfigField{
			{Name: "expr", Type: "expression", Required: true, Description: `Expression whose result is emitted, e.g. "{value: data.value * 2}". Scope: data, job, routine, slot, shared.`},
		},
		Build: func(cfg map[string]any) (engine.Runner, error) {
			e, err := compileConfigExpr(cfg, "expr", "", true)
			if err != nil {
				return nil, err
			}
			return emitter(func(_ context.Context, a *engine.Activation) (any, error) {
				return e.Eval(a.Env())
			}), nil
		},
	}
}

// filterKind routes the payload, unchanged, to "true" or "false".
func filterKind() engine.Kind {
	return engine.Kind{
		Name:        "filter",
		Description: "Evaluates a boolean expression and emits the payload unchanged on true or false.",
		Slots:       []string{slotInput},
		Events:      []string{"true", "false"},
		Cycles:      true,
		Config: []engine.ConfigField{
			{Name: "expr", Type: "expression", Required: true, Description: `Condition, e.g. "data.amount > 100". It must evaluate to a boolean; any other result fails the activation.`},
		},
		Build: func(cfg map[string]any) (engine.Runner, error) {
			e, err := compileConfigExpr(cfg, "expr", "", true)
			if err != nil {
				return nil, err
			}
			return engine.RunnerFunc(func(ctx context.Context, a *engine.Activation) error {
				ok, err := evalBool(e, a.Env())
				if err != nil {
					return err
				}
				if ok {
					return a.Emit(ctx, "true", a.Data)
				}
				return a.Emit(ctx, "false", a.Data)
			}), nil
		},
	}
}

func evalBool(e *Expression, env map[string]any) (bool, error) {
	v, err := e.Eval(env)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, typeError("expression %q gave %s, want true or false", clip(e.String(), 80), describeResult(v))
	}
	return b, nil
}

// describeResult names a run-time value for error messages, with the value
// itself when short.
func describeResult(v any) string {
	s := renderValue(v)
	if len(s) > 60 {
		return describe(v)
	}
	return describe(v) + " " + s
}

type switchCase struct {
	when  *Expression
	event string
}

// switchEvents lists the events of a switch config: the case events, then
// the default event. It is called by validation with any config, so it
// never fails; Build reports what is wrong.
func switchEvents(cfg map[string]any) []string {
	var out []string
	seen := map[string]bool{}
	add := func(ev string) {
		if ev != "" && !seen[ev] {
			seen[ev] = true
			out = append(out, ev)
		}
	}
	cases, _ := cfg["cases"].([]any)
	for _, c := range cases {
		if m, ok := c.(map[string]any); ok {
			ev, _ := m["event"].(string)
			add(ev)
		}
	}
	def, ok := cfg["default"].(string)
	if !ok || def == "" {
		def = "default"
	}
	add(def)
	return out
}

// switchKind emits the payload on the event of the first case whose
// condition holds, or on the default event.
func switchKind() engine.Kind {
	return engine.Kind{
		Name:        "switch",
		Description: "Emits the payload unchanged on the event of the first case whose condition holds, else on the default event.",
		Slots:       []string{slotInput},
		EventsFor:   switchEvents,
		Cycles:      true,
		Config: []engine.ConfigField{
			{Name: "cases", Type: "list", Required: true, Description: `At least one case {when: <boolean expression>, event: <event name>}, tried in order. Event names are unique identifiers (letters, digits, _) and become the routine's events.`},
			{Name: "default", Type: "string", Default: "default", Description: "Event emitted when no case matches."},
		},
		Build: buildSwitch,
	}
}

func buildSwitch(cfg map[string]any) (engine.Runner, error) {
	raw, ok := cfg["cases"]
	if !ok || raw == nil {
		return nil, fmt.Errorf("config.cases is required")
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("config.cases must be a list of {when, event}, not %s", describe(raw))
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("config.cases must have at least one case")
	}
	def, err := optString(cfg, "default", "default")
	if err != nil {
		return nil, err
	}
	if def == "" {
		def = "default"
	}
	if !validEventName(def) {
		return nil, fmt.Errorf("config.default: %q is not a valid event name (letters, digits and _, not starting with a digit)", def)
	}
	seen := map[string]int{}
	cases := make([]switchCase, 0, len(list))
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("config.cases[%d] must be an object {when, event}, not %s", i, describe(item))
		}
		for k := range m {
			if k != "when" && k != "event" {
				return nil, fmt.Errorf("config.cases[%d].%s: unknown key (known keys: when, event)", i, k)
			}
		}
		ev, err := reqString(m, "event")
		if err != nil {
			return nil, fmt.Errorf("config.cases[%d].%s", i, trimConfig(err))
		}
		if !validEventName(ev) {
			return nil, fmt.Errorf("config.cases[%d].event: %q is not a valid event name (letters, digits and _, not starting with a digit)", i, ev)
		}
		if prev, dup := seen[ev]; dup {
			return nil, fmt.Errorf("config.cases[%d].event: %q is already the event of cases[%d]; event names must be unique", i, ev, prev)
		}
		if ev == def {
			return nil, fmt.Errorf("config.cases[%d].event: %q is also the default event", i, ev)
		}
		seen[ev] = i
		when, err := compileConfigExpr(m, "when", "", true)
		if err != nil {
			return nil, fmt.Errorf("config.cases[%d].%s", i, trimConfig(err))
		}
		cases = append(cases, switchCase{when: when, event: ev})
	}
	return engine.RunnerFunc(func(ctx context.Context, a *engine.Activation) error {
		env := a.Env()
		for i, c := range cases {
			ok, err := evalBool(c.when, env)
			if err != nil {
				return fmt.Errorf("case %d (%s): %w", i, c.event, err)
			}
			if ok {
				return a.Emit(ctx, c.event, a.Data)
			}
		}
		return a.Emit(ctx, def, a.Data)
	}), nil
}

// trimConfig drops the "config." prefix of a nested key's error so it can
// be re-prefixed with the full path.
func trimConfig(err error) string {
	s := err.Error()
	if len(s) > 7 && s[:7] == "config." {
		return s[7:]
	}
	return s
}

// splitKind emits one payload per element of an array.
func splitKind() engine.Kind {
	return engine.Kind{
		Name:        "split",
		Description: "Evaluates an expression that gives an array and emits each element on item, in order.",
		Slots:       []string{slotInput},
		Events:      []string{"item"},
		Config: []engine.ConfigField{
			{Name: "expr", Type: "expression", Default: "data", Description: `Expression giving the array to split, e.g. "data.items". Any other result fails the activation.`},
		},
		Build: func(cfg map[string]any) (engine.Runner, error) {
			e, err := compileConfigExpr(cfg, "expr", "data", false)
			if err != nil {
				return nil, err
			}
			return engine.RunnerFunc(func(ctx context.Context, a *engine.Activation) error {
				v, err := e.Eval(a.Env())
				if err != nil {
					return err
				}
				items, ok := toList(v)
				if !ok {
					return typeError("split: expression %q gave %s, want an array", clip(e.String(), 80), describeResult(v))
				}
				for _, it := range items {
					if err := a.Emit(ctx, "item", it); err != nil {
						return err
					}
				}
				return nil
			}), nil
		},
	}
}

// toList accepts []any and the typed slices expr produces (1..3 is []int).
func toList(v any) ([]any, bool) {
	if l, ok := v.([]any); ok {
		return l, true
	}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) {
		return nil, false
	}
	if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
		return nil, false // bytes are a value, not a list
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}
