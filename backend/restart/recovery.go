// Package restart continues, at start, the jobs the process was running
// when it last stopped without ending them (a crash: a clean shutdown ends
// its jobs itself). Everything a job needs is in its event log: the queue
// (each emit's deliveries, numbered in the order the engine numbers them,
// minus the activations that started), the activations running at the crash
// (started, not ended), the routines' private state (recorded on the end of
// the activations that used it), shared data, routine states and whether it
// was paused (the history fold). A job that cannot continue gets a terminal
// job_failed event, so every stream of it ends. docs/durability.md.
package restart

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/history"
	"github.com/switchyard/switchyard/backend/store"
)

// InterruptedError is the error of a job that could not continue.
const InterruptedError = "interrupted: the server stopped while the job ran"

// Report counts what Run did.
type Report struct {
	Continued, Failed int
}

// Run continues or ends every job the store still has as active. It runs
// at start, before the server takes requests.
func Run(ctx context.Context, st *store.Store, hist *history.Service, eng *engine.Engine, log *slog.Logger) (Report, error) {
	active, err := st.ActiveJobs(ctx)
	if err != nil {
		return Report{}, err
	}
	var rep Report
	for _, rec := range active {
		req, err := rebuild(ctx, st, hist, eng, rec)
		if err == nil {
			var r engine.RestoreReport
			if r, err = eng.Restore(*req); err == nil {
				rep.Continued++
				log.Info("job continues after a restart", "job", rec.JobID, "queued", r.Queued, "rerun", r.Rerun, "failed_as_interrupted", r.Failed)
				continue
			}
		}
		log.Warn("job cannot continue after a restart; it fails", "job", rec.JobID, "err", err)
		if err := fail(ctx, st, hist, rec); err != nil {
			return rep, err
		}
		rep.Failed++
	}
	if err := st.Writer.Sync(ctx); err != nil {
		return rep, fmt.Errorf("store the end of interrupted jobs: %w", err)
	}
	return rep, nil
}

// rebuild reads what a job needs to continue from its log.
func rebuild(ctx context.Context, st *store.Store, hist *history.Service, eng *engine.Engine, rec events.JobState) (*engine.RestoreRequest, error) {
	f, err := st.GetFlow(ctx, rec.FlowID, rec.FlowVersion)
	if err != nil {
		return nil, fmt.Errorf("its flow version: %w", err)
	}
	plan, err := eng.Plan(f)
	if err != nil {
		return nil, fmt.Errorf("compile its flow version: %w", err)
	}
	folded, err := hist.State(ctx, rec.JobID)
	if err != nil {
		return nil, fmt.Errorf("fold its log: %w", err)
	}
	q := newQueue(plan)
	for since := int64(0); ; {
		page, err := st.Events(ctx, rec.JobID, since, 10_000)
		if err != nil {
			return nil, fmt.Errorf("read its log: %w", err)
		}
		for i := range page {
			if err := q.apply(&page[i]); err != nil {
				return nil, fmt.Errorf("event %d: %w", page[i].Seq, err)
			}
		}
		if len(page) == 0 {
			break
		}
		since = page[len(page)-1].Seq
	}
	if q.seq != folded.Events {
		return nil, fmt.Errorf("its log ends at %d, its fold at %d", q.seq, folded.Events)
	}
	shared := make(map[string]any, len(folded.Shared))
	for k, raw := range folded.Shared {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("shared %q: %w", k, err)
		}
		shared[k] = v
	}
	req := &engine.RestoreRequest{
		Flow: f, State: folded.JobState, NextID: q.nextID, Shared: shared, Private: q.private,
		Paused: folded.Status == events.StatusPaused,
	}
	req.Queued, req.Running = q.split()
	return req, nil
}

// fail ends a job that cannot continue: a job_failed event after its last
// one, and a record folded from its log, so it shows where it was.
func fail(ctx context.Context, st *store.Store, hist *history.Service, rec events.JobState) error {
	js := rec // the record as stored, if its log cannot be folded
	if folded, err := hist.State(ctx, rec.JobID); err == nil {
		js = folded.JobState
	}
	now := time.Now().UTC()
	js.Status, js.Error, js.CompletedAt = events.StatusFailed, InterruptedError, &now
	js.PauseReason, js.PausedAt, js.PauseRequested = "", nil, false
	js.Events++
	if js.StartedAt != nil {
		js.Duration = now.Sub(*js.StartedAt).Seconds()
	}
	st.Writer.Publish(&events.Event{
		Seq: js.Events, Type: events.JobFailed, JobID: js.JobID, FlowID: js.FlowID, Time: now,
		Status: events.StatusFailed, Error: InterruptedError, Duration: js.Duration, Progress: js.Progress,
		Data: map[string]any{"error": InterruptedError, "error_type": "Interrupted", "routine_id": ""},
		Job:  &js,
	})
	return ctx.Err()
}
