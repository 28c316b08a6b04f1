package server

import (
	"context"
	"fmt"
	"time"

	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/history"
	"github.com/switchyard/switchyard/backend/store"
)

// interruptedError is the error of a job the process stopped without
// ending it (a crash: a clean shutdown ends its jobs itself).
const interruptedError = "interrupted: the server stopped while the job ran"

// failInterrupted ends the jobs that were active when the process last
// stopped without ending them: each gets a job_failed event after its last
// one, so every stream of it ends, and a record folded from its log, so it
// shows where it was. It runs at start, before the engine takes jobs.
func failInterrupted(ctx context.Context, st *store.Store, hist *history.Service) (int, error) {
	active, err := st.ActiveJobs(ctx)
	if err != nil {
		return 0, err
	}
	for _, rec := range active {
		js := rec
		if folded, err := hist.State(ctx, rec.JobID); err == nil {
			js = folded.JobState
		}
		now := time.Now().UTC()
		js.Status, js.Error, js.CompletedAt = events.StatusFailed, interruptedError, &now
		js.PauseReason, js.PausedAt, js.PauseRequested = "", nil, false
		js.Events++
		if js.StartedAt != nil {
			js.Duration = now.Sub(*js.StartedAt).Seconds()
		}
		st.Writer.Publish(&events.Event{
			Seq: js.Events, Type: events.JobFailed, JobID: js.JobID, FlowID: js.FlowID, Time: now,
			Status: events.StatusFailed, Error: interruptedError, Duration: js.Duration, Progress: js.Progress,
			Data: map[string]any{"error": interruptedError, "error_type": "Interrupted", "routine_id": ""},
			Job:  &js,
		})
	}
	if err := st.Writer.Sync(ctx); err != nil {
		return 0, fmt.Errorf("store the end of interrupted jobs: %w", err)
	}
	return len(active), nil
}
