package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/switchyard/switchyard/backend/apierr"
	"github.com/switchyard/switchyard/backend/debug"
	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/flow"
	"github.com/switchyard/switchyard/backend/store"
)

type createJobRequest struct {
	FlowID         string `json:"flow_id"`
	FlowVersion    int    `json:"flow_version"`
	EntryRoutineID string `json:"entry_routine_id"`
	Params         any    `json:"params"`
	// StopOnEntry pauses the job in the debugger before its first activation.
	StopOnEntry bool `json:"stop_on_entry"`
}

// maxWait bounds ?wait= of POST /api/jobs.
const maxWait = 10 * time.Minute

func (a *API) createJob(c *gin.Context) {
	wait, ok := waitQuery(c)
	if !ok {
		return
	}
	body, ok := readBody(c)
	if !ok {
		return
	}
	var req createJobRequest
	if !decodeJSON(c, body, &req) {
		return
	}
	if req.FlowID == "" {
		apierr.Abort(c, apierr.BadRequest, "flow_id is required")
		return
	}
	if !flow.ValidID(req.FlowID) {
		apierr.Abort(c, apierr.BadRequest, fmt.Sprintf("flow_id %q is not a valid id", req.FlowID))
		return
	}
	if req.FlowVersion < 0 {
		apierr.Abort(c, apierr.BadRequest, "flow_version must not be negative (omit it, or send 0, for the current version)")
		return
	}
	if req.Params == nil {
		req.Params = map[string]any{}
	}
	f, err := a.Flows.GetFlow(c.Request.Context(), req.FlowID, req.FlowVersion)
	if err != nil {
		a.storeError(c, apierr.FlowNotFound, err)
		return
	}
	js, err := a.Engine.Start(engine.StartRequest{Flow: f, EntryRoutineID: req.EntryRoutineID, Params: req.Params, StopOnEntry: req.StopOnEntry})
	var invalid *engine.ValidationError
	switch {
	case errors.Is(err, engine.ErrNoEntry):
		apierr.Abort(c, apierr.EntryInvalid, err.Error())
		return
	case errors.As(err, &invalid):
		apierr.Abort(c, apierr.FlowInvalid, err.Error())
		return
	case errors.Is(err, engine.ErrShuttingDown):
		apierr.Abort(c, apierr.ShuttingDown, "the server is shutting down")
		return
	case err != nil:
		a.internal(c, err)
		return
	}
	if wait > 0 {
		a.awaitJob(c, js, wait)
		return
	}
	// The job is durable before it is acknowledged.
	a.syncLog(c)
	renderJob(c, http.StatusCreated, &js.JobState)
}

// waitQuery reads ?wait= (a duration such as 30s; 0 or absent: do not
// wait), answering 400 itself.
func waitQuery(c *gin.Context) (time.Duration, bool) {
	raw := c.Query("wait")
	if raw == "" {
		return 0, true
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d < 0 || d > maxWait {
		apierr.Abort(c, apierr.BadQuery, fmt.Sprintf("wait must be a duration between 0s and %s such as 30s, got %q", maxWait, raw))
		return 0, false
	}
	return d, true
}

// awaitJob answers a synchronous run: 201 with the ended job (status,
// result, error) once it ends, or 202 with the job as it runs when wait is
// up first.
func (a *API) awaitJob(c *gin.Context, started engine.Started, wait time.Duration) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), wait)
	defer cancel()
	final, err := started.Wait(ctx)
	if err != nil {
		if c.Request.Context().Err() != nil {
			return // the client left; the job runs on
		}
		if live, ok := a.Engine.Job(started.JobID); ok { // wait is up
			a.syncLog(c) // its start is stored before it is acknowledged
			renderJob(c, http.StatusAccepted, &live)
			return
		}
		// It ended just now.
		if final, err = started.Wait(c.Request.Context()); err != nil {
			return
		}
	}
	a.syncLog(c) // the answer shows the end once it is stored, its start with it
	renderJob(c, http.StatusCreated, &final)
}

var jobStatuses = map[string]bool{
	events.StatusPending: true, events.StatusRunning: true, events.StatusPaused: true,
	events.StatusCompleted: true, events.StatusFailed: true, events.StatusCancelled: true,
}

func (a *API) listJobs(c *gin.Context) {
	limit, offset, ok := page(c, 50, 1000)
	if !ok {
		return
	}
	f := store.JobFilter{FlowID: c.Query("flow_id"), Status: c.Query("status"), Limit: limit, Offset: offset}
	if f.Status != "" && !jobStatuses[f.Status] {
		apierr.Abort(c, apierr.BadQuery, fmt.Sprintf("status %q is not one of pending, running, paused, completed, failed, cancelled", f.Status))
		return
	}
	for _, q := range []struct {
		name string
		t    *time.Time
	}{{"created_after", &f.CreatedAfter}, {"created_before", &f.CreatedBefore}} {
		name, t := q.name, q.t
		raw := c.Query(name)
		if raw == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil {
			apierr.Abort(c, apierr.BadQuery, fmt.Sprintf("%s %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", name, raw))
			return
		}
		*t = v
	}
	a.syncLog(c)
	list, total, err := a.Jobs.ListJobs(c.Request.Context(), f)
	if err != nil {
		a.internal(c, err)
		return
	}
	// Stored rows of active jobs lag behind; show their live state.
	for i := range list {
		if live, ok := a.Engine.Job(list[i].JobID); ok {
			live.RoutineStates = nil
			list[i] = live
		}
	}
	c.JSON(http.StatusOK, gin.H{"jobs": nonNil(list), "total": total, "limit": limit, "offset": offset})
}

// loadJob returns the live state of an active job, else the stored one.
func (a *API) loadJob(c *gin.Context) (events.JobState, bool) {
	id := c.Param("id")
	if live, ok := a.Engine.Job(id); ok {
		return live, true
	}
	a.syncLog(c)
	js, err := a.Jobs.GetJob(c.Request.Context(), id)
	if err != nil {
		a.storeError(c, apierr.JobNotFound, err)
		return js, false
	}
	return js, true
}

func (a *API) getJob(c *gin.Context) {
	js, ok := a.loadJob(c)
	if !ok {
		return
	}
	if len(js.RoutineStates) == 0 && js.Events > 0 {
		// A short log is stored without its routine states: fold it.
		st, err := a.History.State(c.Request.Context(), js.JobID)
		if err != nil {
			a.historyError(c, err)
			return
		}
		js.RoutineStates = st.RoutineStates
	}
	renderJob(c, http.StatusOK, &js)
}

// deleteJob deletes a finished job and everything of it (events, logs,
// breakpoints, history). An active job must be cancelled first.
func (a *API) deleteJob(c *gin.Context) {
	id := c.Param("id")
	if live, ok := a.Engine.Job(id); ok {
		apierr.Abort(c, apierr.JobActive, fmt.Sprintf("job %s is %s: cancel it before deleting it", id, live.Status))
		return
	}
	a.syncLog(c) // nothing of the job may still be on its way to the store
	if err := a.Debug.Flush(c.Request.Context()); err != nil {
		a.internal(c, err)
		return
	}
	if err := a.Jobs.DeleteJob(c.Request.Context(), id); err != nil {
		a.storeError(c, apierr.JobNotFound, err)
		return
	}
	a.History.Forget(id)
	c.Status(http.StatusNoContent)
}

// controlJob runs a job action. With awaitEnd (cancel) it answers once the
// job has ended, or after cancelWait, so the answer normally shows the
// outcome: running activations see their context cancelled and routines
// that honour it stop within milliseconds.
func (a *API) controlJob(action string, op func(string) (events.JobState, error), awaitEnd bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		js, err := op(c.Param("id"))
		switch {
		case err == nil && awaitEnd:
			select {
			case <-a.Engine.Done(c.Param("id")):
				if js, ok := a.loadJob(c); ok {
					renderJob(c, http.StatusOK, &js)
				}
			case <-time.After(cancelWait):
				renderJob(c, http.StatusOK, &js)
			}
		case err == nil:
			renderJob(c, http.StatusOK, &js)
		case errors.Is(err, engine.ErrConflict):
			apierr.Abort(c, apierr.JobStateConflict, fmt.Sprintf("cannot %s: %s", action, strings.TrimPrefix(err.Error(), engine.ErrConflict.Error()+": ")))
		case errors.Is(err, engine.ErrJobNotActive):
			stored, ok := a.loadJob(c)
			if ok {
				apierr.Abort(c, apierr.JobStateConflict, fmt.Sprintf("cannot %s: job is %s", action, stored.Status))
			}
		default:
			a.internal(c, err)
		}
	}
}

// resumeJob resumes a paused job. A job held at a debugger stop continues
// from it, as POST …/debug/resume would.
func (a *API) resumeJob(c *gin.Context) {
	if a.Debug.Stopped(c.Param("id")) {
		if _, err := a.Debug.Command(c.Request.Context(), c.Param("id"), debug.StepContinue, ""); err != nil {
			a.debugError(c, err)
			return
		}
		a.getJob(c)
		return
	}
	a.controlJob("resume", a.Engine.Resume, false)(c)
}

// cancelWait bounds how long cancel waits for the job to end.
const cancelWait = 5 * time.Second

func (a *API) jobEvents(c *gin.Context) {
	since, ok := intQuery(c, "since", 0, 0, 1<<62)
	if !ok {
		return
	}
	limit, ok := intQuery(c, "limit", 1000, 1, 10000)
	if !ok {
		return
	}
	if _, ok := a.loadJob(c); !ok {
		return
	}
	a.syncLog(c) // an active job's latest events may still be on their way to the store
	list, err := a.Jobs.Events(c.Request.Context(), c.Param("id"), int64(since), limit)
	if err != nil {
		a.internal(c, err)
		return
	}
	next := int64(since)
	if len(list) > 0 {
		next = list[len(list)-1].Seq
	}
	c.JSON(http.StatusOK, gin.H{"events": nonNil(list), "next_since": next, "has_more": len(list) == limit})
}

func (a *API) jobLogs(c *gin.Context) {
	limit, offset, ok := page(c, 100, 1000)
	if !ok {
		return
	}
	f := store.LogFilter{RoutineID: c.Query("routine_id"), Query: c.Query("q"), Limit: limit, Offset: offset}
	if lvl := c.Query("level"); lvl != "" {
		if f.MinLevel = store.LevelRank(lvl); f.MinLevel < 0 {
			apierr.Abort(c, apierr.BadQuery, fmt.Sprintf("level %q is not one of debug, info, warning, error", lvl))
			return
		}
	}
	if len(f.Query) > 500 {
		apierr.Abort(c, apierr.BadQuery, "q must be at most 500 characters")
		return
	}
	if _, ok := a.loadJob(c); !ok {
		return
	}
	a.syncLog(c)
	list, total, err := a.Jobs.Logs(c.Request.Context(), c.Param("id"), f)
	if err != nil {
		a.internal(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"logs": nonNil(list), "total": total, "limit": limit, "offset": offset})
}

func (a *API) jobMetrics(c *gin.Context) {
	js, ok := a.loadJob(c)
	if !ok {
		return
	}
	a.syncLog(c)
	sum, err := a.Jobs.JobSummary(c.Request.Context(), js.JobID)
	if err != nil {
		a.storeError(c, apierr.JobNotFound, err)
		return
	}
	if sum == nil { // ended before summaries were kept, or continued after a crash: count its log
		ctx, cancel := context.WithTimeout(c.Request.Context(), 10*time.Second)
		defer cancel()
		sum = events.NewSummary(1)
		if err := a.History.Scan(ctx, js.JobID, func(ev *events.Event) error {
			sum.Add(ev)
			return nil
		}); err != nil {
			a.storeError(c, apierr.JobNotFound, err)
			return
		}
	}
	c.JSON(http.StatusOK, metricsOf(js, sum))
}

// renderJob answers with one job, encoded without reflection
// (events.AppendJobState writes what encoding/json would) into a buffer
// reused from answer to answer: a job with its routine states is a few KB,
// which grew a fresh buffer twice per answer.
func renderJob(c *gin.Context, status int, js *events.JobState) {
	buf := jobBuffers.Get().(*[]byte)
	*buf = events.AppendJobState((*buf)[:0], js)
	c.Data(status, "application/json; charset=utf-8", *buf) // written out before it returns
	if cap(*buf) <= 64<<10 {                                // a huge answer's buffer is left to the collector
		jobBuffers.Put(buf)
	}
}

var jobBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}
