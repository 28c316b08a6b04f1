package restart

import (
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/flow"
	"github.com/switchyard/switchyard/backend/routines"
)

const fanFlow = `
flow_id: fan
routines:
  start: {kind: input}
  split: {kind: split, config: {expr: "data.items"}}
  wait:  {kind: delay, config: {ms: 10}}
  join:  {kind: merge, config: {strategy: append}}
  done:  {kind: output}
connections:
  - {from: start.output, to: split.input}
  - {from: split.item, to: wait.input, param_mapping: {v: value}}
  - {from: wait.output, to: join.input}
  - {from: join.output, to: done.input}
`

func plan(t *testing.T) *engine.Plan {
	t.Helper()
	f, err := flow.Parse([]byte(fanFlow))
	if err != nil {
		t.Fatal(err)
	}
	reg := engine.NewRegistry()
	routines.Register(reg)
	p, err := reg.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func replay(t *testing.T, q *queue, evs []events.Event) error {
	t.Helper()
	for i := range evs {
		evs[i].Seq = int64(i + 1)
		if err := q.apply(&evs[i]); err != nil {
			return err
		}
	}
	return nil
}

func TestQueueRebuildsWhatHadNotEnded(t *testing.T) {
	q := newQueue(plan(t))
	err := replay(t, q, []events.Event{
		{Type: events.JobStarted, Data: map[string]any{"entry_routine": "start", "params": map[string]any{"items": []any{1.0, 2.0}}}},
		{Type: events.RoutineStarted, RoutineID: "start", ActivationID: 1},
		{Type: events.EventEmit, RoutineID: "start", ActivationID: 1, Event: "output", Data: map[string]any{"items": []any{1.0, 2.0}}, Targets: 1},
		{Type: events.RoutineCompleted, RoutineID: "start", ActivationID: 1},
		{Type: events.RoutineStarted, RoutineID: "split", ActivationID: 2},
		{Type: events.EventEmit, RoutineID: "split", ActivationID: 2, Event: "item", Data: map[string]any{"v": 1.0}, Targets: 1},
		{Type: events.EventEmit, RoutineID: "split", ActivationID: 2, Event: "item", Data: map[string]any{"v": 2.0}, Targets: 1},
		{Type: events.RoutineCompleted, RoutineID: "split", ActivationID: 2},
		{Type: events.RoutineStarted, RoutineID: "wait", ActivationID: 3},
		{Type: events.EventEmit, RoutineID: "wait", ActivationID: 3, Event: "output", Data: map[string]any{"value": 1.0}, Targets: 1},
		{Type: events.RoutineCompleted, RoutineID: "wait", ActivationID: 3},
		{Type: events.RoutineStarted, RoutineID: "join", ActivationID: 5},
		{Type: events.RoutineCompleted, RoutineID: "join", ActivationID: 5, State: map[string]any{"pending": []any{"first"}}},
		{Type: events.RoutineStarted, RoutineID: "wait", ActivationID: 4, Data: map[string]any{"value": 2.0}},
		{Type: events.RoutineFailed, RoutineID: "wait", ActivationID: 4, Status: "retrying", Error: "boom"},
	})
	if err != nil {
		t.Fatal(err)
	}
	queued, running := q.split()
	// wait #4 runs (a retry was under way); nothing else is left: join #5 ended.
	if len(queued) != 0 || len(running) != 1 {
		t.Fatalf("queued %+v, running %+v", queued, running)
	}
	want := engine.Restored{ID: 4, ParentID: 2, Depth: 2, RoutineID: "wait", Slot: "input", Source: "split.item",
		Data: map[string]any{"value": 2.0}}
	if !reflect.DeepEqual(running[0], want) {
		t.Errorf("running %+v\nwant    %+v", running[0], want)
	}
	if q.nextID != 5 || !reflect.DeepEqual(q.private["join"], map[string]any{"pending": []any{"first"}}) {
		t.Errorf("next id %d, private %v", q.nextID, q.private)
	}
}

func TestQueueKeepsDeliveriesNotStarted(t *testing.T) {
	q := newQueue(plan(t))
	err := replay(t, q, []events.Event{
		{Type: events.JobStarted, Data: map[string]any{"entry_routine": "start", "params": map[string]any{"items": []any{7.0}}}},
		{Type: events.RoutineStarted, RoutineID: "start", ActivationID: 1},
		{Type: events.EventEmit, RoutineID: "start", ActivationID: 1, Event: "output", Data: map[string]any{"items": []any{7.0}}, Targets: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	queued, running := q.split()
	if len(running) != 1 || running[0].ID != 1 || len(queued) != 1 || queued[0].RoutineID != "split" || queued[0].ParentID != 1 {
		t.Fatalf("queued %+v, running %+v", queued, running)
	}
	// An entry that has not started is queued with the job's params on its entry slot.
	q = newQueue(plan(t))
	_ = replay(t, q, []events.Event{{Type: events.JobStarted, Data: map[string]any{"entry_routine": "start", "params": 3.0}}})
	if queued, _ := q.split(); len(queued) != 1 || queued[0].Slot != "trigger" || queued[0].Data != 3.0 {
		t.Fatalf("entry %+v", queued)
	}
}

func TestQueueRefusesALogTheFlowCannotHaveWritten(t *testing.T) {
	for name, evs := range map[string][]events.Event{
		"unknown entry":   {{Type: events.JobStarted, Data: map[string]any{"entry_routine": "ghost"}}},
		"never queued":    {{Type: events.JobStarted, Data: map[string]any{"entry_routine": "start"}}, {Type: events.RoutineStarted, RoutineID: "wait", ActivationID: 9}},
		"wrong fan-out":   {{Type: events.JobStarted, Data: map[string]any{"entry_routine": "start"}}, {Type: events.EventEmit, RoutineID: "start", ActivationID: 1, Event: "output", Targets: 3}},
		"emit of nothing": {{Type: events.JobStarted, Data: map[string]any{"entry_routine": "start"}}, {Type: events.EventEmit, RoutineID: "split", ActivationID: 4, Event: "item", Targets: 1}},
	} {
		if err := replay(t, newQueue(plan(t)), evs); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	q := newQueue(plan(t))
	if err := q.apply(&events.Event{Seq: 2, Type: events.JobStarted}); err == nil || !strings.Contains(err.Error(), "gap") {
		t.Errorf("a gap: %v", err)
	}
}
