package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/switchyard/switchyard/backend/apierr"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/history"
)

// History answers post-mortem questions from a job's event log; the
// history package's Service implements it.
type History interface {
	// State is the job after its latest stored event, StateAt after event at.
	State(ctx context.Context, jobID string) (*history.State, error)
	StateAt(ctx context.Context, jobID string, at int64) (*history.State, error)
	Activations(ctx context.Context, jobID string, q history.ActivationQuery) ([]history.Activation, int, error)
	Activation(ctx context.Context, jobID string, id int64) (*history.Activation, error)
	// Forget drops what is cached of a deleted job.
	Forget(jobID string)
	// Scan reads a job's events without their payloads.
	Scan(ctx context.Context, jobID string, fn func(ev *events.Event) error) error
}

func (a *API) registerHistory(g *gin.RouterGroup) {
	g.GET("/jobs/:id/state", a.jobState)
	g.GET("/jobs/:id/activations", a.jobActivations)
	g.GET("/jobs/:id/activations/:aid", a.jobActivation)
}

// jobState answers GET /api/jobs/{id}/state?at=<seq>: the job right after
// event at (the latest if at is omitted).
func (a *API) jobState(c *gin.Context) {
	if !a.hasHistory(c) {
		return
	}
	ctx, id := c.Request.Context(), c.Param("id")
	raw, present := c.GetQuery("at")
	var st *history.State
	var err error
	if !present || raw == "" {
		st, err = a.History.State(ctx, id)
	} else {
		at, perr := strconv.ParseInt(raw, 10, 64)
		if perr != nil {
			apierr.Abort(c, apierr.BadQuery, fmt.Sprintf("at must be an integer seq of the job's log, got %q", raw))
			return
		}
		st, err = a.History.StateAt(ctx, id, at)
	}
	if err != nil {
		a.historyError(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}

// jobActivations answers GET /api/jobs/{id}/activations: a page of the
// job's activations in id order, optionally of one routine.
func (a *API) jobActivations(c *gin.Context) {
	limit, offset, ok := page(c, 100, 1000)
	if !ok || !a.hasHistory(c) {
		return
	}
	q := history.ActivationQuery{RoutineID: c.Query("routine_id"), Limit: limit, Offset: offset}
	list, total, err := a.History.Activations(c.Request.Context(), c.Param("id"), q)
	if err != nil {
		a.historyError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"activations": nonNil(list), "total": total, "limit": limit, "offset": offset})
}

// jobActivation answers GET /api/jobs/{id}/activations/{aid}.
func (a *API) jobActivation(c *gin.Context) {
	raw := c.Param("aid")
	aid, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		apierr.Abort(c, apierr.BadRequest, fmt.Sprintf("activation id must be an integer, got %q", raw))
		return
	}
	if !a.hasHistory(c) {
		return
	}
	act, err := a.History.Activation(c.Request.Context(), c.Param("id"), aid)
	if err != nil {
		a.historyError(c, err)
		return
	}
	c.JSON(http.StatusOK, act)
}

// hasHistory answers 503 for a server built without the history service.
func (a *API) hasHistory(c *gin.Context) bool {
	if a.History == nil {
		apierr.Abort(c, apierr.Unavailable, "job history is not available on this server")
		return false
	}
	return true
}

// historyError maps the history service's errors to answers.
func (a *API) historyError(c *gin.Context, err error) {
	switch {
	case errors.Is(err, history.ErrJobNotFound):
		apierr.Abort(c, apierr.JobNotFound, err.Error())
	case errors.Is(err, history.ErrActivationNotFound):
		apierr.Abort(c, apierr.ActivationNotFound, err.Error())
	case errors.Is(err, history.ErrSeqOutOfRange):
		apierr.Abort(c, apierr.BadQuery, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		apierr.Abort(c, apierr.Unavailable, "request cancelled or timed out")
	default:
		a.internal(c, err)
	}
}
