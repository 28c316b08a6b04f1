package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/switchyard/switchyard/backend/flow"
)

// Plan is a validated flow version with every routine's runner built.
type Plan struct {
	Flow     *flow.Flow
	routines map[string]*node
	workers  int
}

type node struct {
	id      string
	kind    string
	runner  Runner
	policy  flow.ErrorPolicy
	outs    map[string][]target // event → deliveries
	inbound map[string]int      // slot → number of connections into it
	slots   []string
	events  map[string]struct{}
	env     map[string]any // the "routine" variable of expressions; read-only
	// defaultEvent is where "skip" forwards input: "output" if the kind has it.
	defaultEvent string
	// rerunSafe: an activation interrupted by a crash may run again.
	rerunSafe bool
}

type target struct {
	node    *node
	slot    string
	mapping map[string]string
}

// ValidationError carries the findings of a failed compile.
type ValidationError struct{ Result flow.Result }

func (e *ValidationError) Error() string {
	msgs := make([]string, 0, len(e.Result.Errors))
	for _, i := range e.Result.Errors {
		msgs = append(msgs, i.Message)
	}
	return "invalid flow: " + strings.Join(msgs, "; ")
}

// Compile validates f and builds its runners. Building a routine is its
// config check, so each routine is built once.
func (r *Registry) Compile(f *flow.Flow) (*Plan, error) {
	res := flow.ValidateStructure(f, r)
	runners := make(map[string]Runner, len(f.Routines))
	for id, spec := range f.Routines {
		k, known := r.lookup(spec.Kind)
		if !known {
			continue // already an error of the result
		}
		run, err := k.build(spec.Config)
		if err != nil {
			res.Add(flow.ConfigIssue(id, spec.Kind, err))
			continue
		}
		runners[id] = run
	}
	if !res.Valid {
		return nil, &ValidationError{Result: res}
	}
	p := &Plan{Flow: f, routines: make(map[string]*node, len(f.Routines)), workers: f.Workers()}
	for id, spec := range f.Routines {
		k, _ := r.lookup(spec.Kind)
		run := runners[id]
		n := &node{id: id, kind: spec.Kind, runner: run, slots: k.Slots, policy: spec.Policy(), outs: map[string][]target{}, inbound: map[string]int{},
			rerunSafe: k.RerunSafe == nil || k.RerunSafe(spec.Config)}
		n.events = map[string]struct{}{}
		n.env = map[string]any{"id": id, "kind": spec.Kind}
		for _, ev := range (kindInfo{k}).Events(spec.Config) {
			n.events[ev] = struct{}{}
			if ev == "output" {
				n.defaultEvent = ev
			}
		}
		p.routines[id] = n
	}
	for _, c := range f.Connections {
		from, _ := flow.ParseEndpoint(c.From)
		to, _ := flow.ParseEndpoint(c.To)
		src, dst := p.routines[from.Routine], p.routines[to.Routine]
		src.outs[from.Port] = append(src.outs[from.Port], target{node: dst, slot: to.Port, mapping: c.ParamMapping})
		dst.inbound[to.Port]++
	}
	return p, nil
}

// ErrNoEntry is returned when a job names no usable entry routine.
var ErrNoEntry = errors.New("no entry routine")

// entry resolves the routine a job starts at: the requested one, or the
// flow's only input routine.
func (p *Plan) entry(requested string) (*node, string, error) {
	if requested != "" {
		n, ok := p.routines[requested]
		if !ok {
			return nil, "", fmt.Errorf("%w: routine %q is not in flow %q", ErrNoEntry, requested, p.Flow.ID)
		}
		return n, firstSlot(n), nil
	}
	var inputs []*node
	for _, n := range p.routines {
		if n.kind == "input" {
			inputs = append(inputs, n)
		}
	}
	switch len(inputs) {
	case 1:
		return inputs[0], firstSlot(inputs[0]), nil
	case 0:
		return nil, "", fmt.Errorf("%w: flow %q has no input routine", ErrNoEntry, p.Flow.ID)
	default:
		return nil, "", fmt.Errorf("%w: flow %q has %d input routines; name one as entry_routine_id", ErrNoEntry, p.Flow.ID, len(inputs))
	}
}

func firstSlot(n *node) string {
	if len(n.slots) == 0 {
		return ""
	}
	return n.slots[0]
}

// mapParams applies a connection's param_mapping to an emitted payload.
func mapParams(data any, mapping map[string]string) any {
	if len(mapping) == 0 {
		return data
	}
	obj, ok := data.(map[string]any)
	if !ok {
		return data
	}
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		if to, renamed := mapping[k]; renamed {
			out[to] = v
		} else {
			out[k] = v
		}
	}
	return out
}

// Ports returns a routine's input slots and output events in this flow
// version; ok is false for a routine the flow does not have.
func (p *Plan) Ports(routineID string) (slots []string, events []string, ok bool) {
	n, ok := p.routines[routineID]
	if !ok {
		return nil, nil, false
	}
	for ev := range n.events {
		events = append(events, ev)
	}
	slices.Sort(events)
	return n.slots, events, true
}
