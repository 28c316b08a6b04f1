package restart

import (
	"fmt"
	"sort"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
)

// queue replays a job's log to find its activations that had not ended:
// every activation is created by the job's start (the entry, id 1) or by an
// emit (one per delivery, numbered on), starts with routine_started and ends
// with routine_completed or a routine_failed that is not a retry.
type queue struct {
	plan   *engine.Plan
	seq    int64
	nextID int64
	open   map[int64]*pending
	// skipped: activations that ended skipped, whose input is forwarded by
	// an emit after their end.
	skipped map[int64]*pending
	private map[string]map[string]any
}

type pending struct {
	engine.Restored
	started bool
}

func newQueue(plan *engine.Plan) *queue {
	return &queue{plan: plan, open: map[int64]*pending{}, skipped: map[int64]*pending{}, private: map[string]map[string]any{}}
}

func (q *queue) apply(ev *events.Event) error {
	if ev.Seq != q.seq+1 {
		return fmt.Errorf("a gap in the log: %d after %d", ev.Seq, q.seq)
	}
	q.seq = ev.Seq
	switch ev.Type {
	case events.JobStarted:
		entry, _ := field(ev.Data, "entry_routine").(string)
		slot, ok := q.plan.EntrySlot(entry)
		if !ok {
			return fmt.Errorf("entry routine %q is not in the flow", entry)
		}
		q.add(engine.Restored{RoutineID: entry, Slot: slot, Data: field(ev.Data, "params")})
	case events.RoutineStarted:
		a := q.open[ev.ActivationID]
		if a == nil {
			return fmt.Errorf("activation %d of %s started but was never queued", ev.ActivationID, ev.RoutineID)
		}
		a.started = true
		a.Data = ev.Data // as it ran: a debugger may have changed it
	case events.EventEmit:
		src := q.open[ev.ActivationID]
		if src == nil {
			src = q.skipped[ev.ActivationID]
			delete(q.skipped, ev.ActivationID)
		}
		if src == nil {
			return fmt.Errorf("activation %d emitted %s but is not running", ev.ActivationID, ev.Event)
		}
		out, _ := q.plan.Deliveries(src.RoutineID, ev.Event, ev.Data)
		if len(out) != ev.Targets {
			return fmt.Errorf("%s.%s delivered to %d, the flow connects it to %d", src.RoutineID, ev.Event, ev.Targets, len(out))
		}
		for _, d := range out {
			q.add(engine.Restored{ParentID: src.ID, Depth: src.Depth + 1, RoutineID: d.RoutineID, Slot: d.Slot,
				Source: src.RoutineID + "." + ev.Event, Data: d.Data})
		}
	case events.RoutineCompleted:
		q.end(ev)
	case events.RoutineFailed:
		if ev.Status == "retrying" {
			break // the activation runs again
		}
		if a := q.end(ev); a != nil && ev.Status == events.StateSkipped {
			q.skipped = map[int64]*pending{a.ID: a} // its forward, if any, comes next
		}
	}
	return nil
}

func (q *queue) add(r engine.Restored) {
	q.nextID++
	r.ID = q.nextID
	q.open[r.ID] = &pending{Restored: r}
}

func (q *queue) end(ev *events.Event) *pending {
	a := q.open[ev.ActivationID]
	delete(q.open, ev.ActivationID)
	if ev.State != nil {
		q.private[ev.RoutineID] = ev.State
	}
	return a
}

// split returns the activations not started and those running, each in id
// order.
func (q *queue) split() (queued, running []engine.Restored) {
	for _, a := range q.open {
		if a.started {
			running = append(running, a.Restored)
		} else {
			queued = append(queued, a.Restored)
		}
	}
	byID := func(list []engine.Restored) {
		sort.Slice(list, func(i, k int) bool { return list[i].ID < list[k].ID })
	}
	byID(queued)
	byID(running)
	return queued, running
}

func field(data any, key string) any {
	if m, ok := data.(map[string]any); ok {
		return m[key]
	}
	return nil
}
