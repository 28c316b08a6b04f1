package debug

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/store"
)

// inheritedKey is the field of a job_started event's data that lists the
// job's copies of its flow's breakpoints.
const inheritedKey = "breakpoints"

// recordTail is a flow breakpoint as its copies are recorded in
// job_started, without the copy's id: only what is set, so that a job of a
// flow with many breakpoints logs little. It is rendered once per flow
// breakpoint (compile), not per job.
func recordTail(rec store.Breakpoint) []byte {
	m := map[string]any{"inherited_from": rec.ID, "type": rec.Type, "routine_id": rec.RoutineID}
	for k, v := range map[string]string{"slot_name": rec.Slot, "event_name": rec.Event, "condition": rec.Condition,
		"hit_condition": rec.HitCondition, "log_message": rec.LogMessage} {
		if v != "" {
			m[k] = v
		}
	}
	if !rec.Enabled {
		m["enabled"] = false
	}
	b := events.AppendValue(nil, m)
	return b[1:] // without the opening brace: the copy's id goes first
}

// appendRecord appends the record of a job's copy of fb: its id, then what
// it took from fb.
func appendRecord(b []byte, copyID string, fb *compiled) []byte {
	b = append(b, `{"breakpoint_id":`...)
	b = events.AppendValue(b, copyID)
	b = append(b, ',')
	return append(b, fb.tail...)
}

// fromInherited reads a recorded copy back (created at the job's start).
func fromInherited(v any, jobID string, created time.Time) (store.Breakpoint, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return store.Breakpoint{}, false
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	rec := store.Breakpoint{
		ID: str("breakpoint_id"), Scope: store.ScopeJob, ScopeID: jobID, Type: str("type"), RoutineID: str("routine_id"),
		Slot: str("slot_name"), Event: str("event_name"), Condition: str("condition"), HitCondition: str("hit_condition"),
		LogMessage: str("log_message"), InheritedFrom: str("inherited_from"), Enabled: m["enabled"] != false, CreatedAt: created,
	}
	return rec, rec.ID != ""
}

// storedJobBreakpoints lists the breakpoints of a job nobody debugs now (it
// has ended).
func (d *Debugger) storedJobBreakpoints(ctx context.Context, jobID string) ([]Breakpoint, error) {
	recs, err := d.storedJobRecords(ctx, jobID)
	if err != nil {
		return nil, err
	}
	out := make([]Breakpoint, len(recs))
	for i, rec := range recs {
		c := &compiled{rec: rec, hits: new(atomic.Int64)}
		c.hits.Store(rec.HitCount)
		out[i] = c.view()
	}
	return out, nil
}

// storedJobRecords are a job's breakpoints as the store has them: the
// copies its job_started event records, as their rows have them once hit,
// changed or deleted, and the job's own breakpoints; deleted ones left out.
func (d *Debugger) storedJobRecords(ctx context.Context, jobID string) ([]store.Breakpoint, error) {
	if err := d.Flush(ctx); err != nil {
		return nil, err
	}
	rows, err := d.store.Breakpoints(ctx, store.ScopeJob, jobID)
	if err != nil {
		return nil, err
	}
	first, err := d.store.Events(ctx, jobID, 0, 1)
	if err != nil {
		return nil, fmt.Errorf("read the start of job %s: %w", jobID, err)
	}
	stored := make(map[string]store.Breakpoint, len(rows))
	for _, r := range rows {
		stored[r.ID] = r
	}
	var recs []store.Breakpoint
	if len(first) == 1 {
		list, _ := first[0].Data.(map[string]any)[inheritedKey].([]any)
		for _, v := range list {
			rec, ok := fromInherited(v, jobID, first[0].Time)
			if !ok {
				continue
			}
			if r, ok := stored[rec.ID]; ok {
				rec = r
				delete(stored, rec.ID)
			}
			recs = append(recs, rec)
		}
	}
	for _, r := range rows { // the job's own, set on it while it ran
		if _, own := stored[r.ID]; own {
			recs = append(recs, r)
		}
	}
	// As the job had them: its copies in the record's order, then its own
	// (rows come oldest first).
	return slices.DeleteFunc(recs, func(r store.Breakpoint) bool { return r.Deleted }), nil
}
