package routines

import (
	"context"
	"fmt"

	"github.com/switchyard/switchyard/backend/engine"
)

// mergeKind joins the payloads of its connected inputs.
//
// A round completes when one payload has arrived from each of the
// a.Inbound() connections into the slot. Payloads are told apart by the
// routine event that emitted them (a.Source, "routine.event"): a source that delivers a second
// payload before the round completes (a split upstream, a loop) does not
// overwrite its first one; it is queued, in arrival order, for the next
// round. So rounds pair the n-th payload of every source.
//
// The waiting payloads live in the routine's private job state, visible to
// the debugger as JSON values:
//
//	pending: [{source: "a", data: …}, …]   arrival order
//	rounds:  number of rounds emitted so far
//
// A payload that arrives while the job is ending, or a round still
// incomplete when the job completes, is dropped.
func mergeKind() engine.Kind {
	return engine.Kind{
		Name:        "merge",
		Description: "Waits for one payload from each connected input, then emits them merged (override) or as a list (append) on output.",
		Slots:       []string{slotInput},
		Events:      []string{eventOutput},
		Config: []engine.ConfigField{
			{Name: "strategy", Type: "string", Default: "override", Description: `"override" shallow-merges the payloads (objects only) in arrival order, later keys winning; "append" emits the list of payloads in arrival order. A source that sends twice before every input has arrived is queued for the next round.`},
		},
		Build: func(cfg map[string]any) (engine.Runner, error) {
			strategy, err := optEnum(cfg, "strategy", "override", "override", "append")
			if err != nil {
				return nil, err
			}
			return &mergeRunner{override: strategy == "override"}, nil
		},
	}
}

type mergeRunner struct{ override bool }

func (m *mergeRunner) Run(ctx context.Context, a *engine.Activation) error {
	if m.override {
		if _, ok := a.Data.(map[string]any); !ok {
			return typeError("merge (override): the payload from %q is %s, not an object; use strategy append to merge other values", sourceName(a), describe(a.Data))
		}
	}
	want := max(a.Inbound(), 1) // 0 when the merge is the job's entry
	var round []any
	a.WithState(func(st map[string]any) {
		pending, _ := st["pending"].([]any)
		pending = append(pending, map[string]any{"source": a.Source, "data": a.Data})
		// Take each source's first waiting payload; complete when every
		// input has one.
		firstOf := map[string]int{}
		var order []int
		for i, p := range pending {
			src := entrySource(p)
			if _, seen := firstOf[src]; !seen {
				firstOf[src] = i
				order = append(order, i)
			}
		}
		if len(order) < want {
			st["pending"] = pending
			return
		}
		taken := map[int]bool{}
		for _, i := range order[:want] {
			taken[i] = true
			round = append(round, entryData(pending[i]))
		}
		rest := make([]any, 0, len(pending)-want)
		for i, p := range pending {
			if !taken[i] {
				rest = append(rest, p)
			}
		}
		st["pending"] = rest
		n, _ := toNumber(st["rounds"])
		st["rounds"] = n + 1
	})
	if round == nil {
		return nil
	}
	if !m.override {
		return a.Emit(ctx, eventOutput, round)
	}
	out := map[string]any{}
	for _, p := range round {
		obj, ok := p.(map[string]any)
		if !ok { // the state was edited in the debugger
			return typeError("merge (override): a waiting payload is %s, not an object", describe(p))
		}
		for k, v := range obj {
			out[k] = v
		}
	}
	return a.Emit(ctx, eventOutput, out)
}

func entrySource(p any) string {
	m, _ := p.(map[string]any)
	s, _ := m["source"].(string)
	return s
}

func entryData(p any) any {
	m, _ := p.(map[string]any)
	return m["data"]
}

func sourceName(a *engine.Activation) string {
	if a.Source == "" {
		return fmt.Sprintf("the job's params (%s)", a.Slot)
	}
	return a.Source
}
