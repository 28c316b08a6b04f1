// Package api is the REST API: Gin handlers, request parsing and validation,
// and the mapping of domain errors to {"error":{"code","message"}} bodies.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/switchyard/switchyard/backend/apierr"
	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/flow"
	"github.com/switchyard/switchyard/backend/store"
)

// FlowStore keeps flow definitions and their versions.
type FlowStore interface {
	CreateFlow(ctx context.Context, f *flow.Flow) (*flow.Flow, error)
	UpdateFlow(ctx context.Context, f *flow.Flow) (*flow.Flow, error)
	GetFlow(ctx context.Context, id string, version int) (*flow.Flow, error)
	ListFlows(ctx context.Context, limit, offset int) ([]store.FlowSummary, int, error)
	DeleteFlow(ctx context.Context, id string) error
}

// JobStore reads stored jobs, their event log and log lines.
type JobStore interface {
	GetJob(ctx context.Context, id string) (events.JobState, error)
	ListJobs(ctx context.Context, f store.JobFilter) ([]events.JobState, int, error)
	Events(ctx context.Context, jobID string, since int64, limit int) ([]events.Event, error)
	Logs(ctx context.Context, jobID string, f store.LogFilter) ([]store.LogLine, int, error)
	DeleteJob(ctx context.Context, id string) error
	// JobSummary is the stored totals of a job's events, nil if there are
	// none (store.Store.JobSummary).
	JobSummary(ctx context.Context, jobID string) (*events.Summary, error)
}

// EventLog is the durable log's writer; Sync waits until everything
// published so far is stored, so reads after it see the latest state.
type EventLog interface {
	Sync(ctx context.Context) error
	// Backlog is the number of published events not yet stored.
	Backlog() int64
}

// Engine runs jobs.
type Engine interface {
	Start(req engine.StartRequest) (engine.Started, error)
	Job(id string) (events.JobState, bool)
	Pause(id string) (events.JobState, error)
	Resume(id string) (events.JobState, error)
	Cancel(id string) (events.JobState, error)
	Done(id string) <-chan struct{}
	Registry() *engine.Registry
}

// Deps are what the handlers need.
type Deps struct {
	Flows   FlowStore
	Jobs    JobStore
	Log     EventLog
	Engine  Engine
	Debug   Debugger
	History History
	Ready   Readiness
	Logger  *slog.Logger
	Version string
	// MaxBody bounds request bodies (default 1 MiB).
	MaxBody int64
}

// API holds the handlers.
type API struct {
	Deps
}

// New returns the API with defaults applied.
func New(d Deps) *API {
	if d.MaxBody <= 0 {
		d.MaxBody = 1 << 20
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &API{Deps: d}
}

// Register mounts every endpoint under /api.
func (a *API) Register(r *gin.Engine) {
	a.registerProbes(r)
	g := r.Group("/api")
	g.Use(a.limitBody)
	g.GET("/health", a.health)
	g.GET("/routines", a.routines)
	g.GET("/openapi.json", a.openAPI)
	g.POST("/expressions/check", a.checkExpression)

	g.POST("/flows", a.createFlow)
	g.GET("/flows", a.listFlows)
	g.GET("/flows/:id", a.getFlow)
	g.PUT("/flows/:id", a.updateFlow)
	g.DELETE("/flows/:id", a.deleteFlow)
	g.POST("/flows/:id/validate", a.validateFlow)
	g.GET("/flows/:id/dsl", a.flowDSL)

	g.POST("/jobs", a.createJob)
	g.GET("/jobs", a.listJobs)
	g.GET("/jobs/:id", a.getJob)
	g.DELETE("/jobs/:id", a.deleteJob)
	g.POST("/jobs/:id/pause", a.controlJob("pause", a.Engine.Pause, false))
	g.POST("/jobs/:id/resume", a.resumeJob)
	g.POST("/jobs/:id/cancel", a.controlJob("cancel", a.Engine.Cancel, true))
	g.GET("/jobs/:id/events", a.jobEvents)
	g.GET("/jobs/:id/logs", a.jobLogs)
	g.GET("/jobs/:id/metrics", a.jobMetrics)
	a.registerDebug(g)
	a.registerHistory(g)
}

// MethodNotAllowed answers a known path with the wrong method.
func MethodNotAllowed(c *gin.Context) {
	apierr.Abort(c, apierr.MethodNotAllowed, c.Request.Method+" is not allowed on "+c.Request.URL.Path)
}

func (a *API) health(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok", "version": a.Version, "time": time.Now().UTC(), "event_backlog": a.Log.Backlog()})
}

type kindDoc struct {
	Kind        string               `json:"kind"`
	Description string               `json:"description"`
	Slots       []string             `json:"slots"`
	Events      []string             `json:"events"`
	Config      []engine.ConfigField `json:"config"`
	BoundsCycle bool                 `json:"bounds_cycles"`
}

func (a *API) routines(c *gin.Context) {
	kinds := a.Engine.Registry().Kinds()
	out := make([]kindDoc, 0, len(kinds))
	for _, k := range kinds {
		evs := k.Events
		if k.EventsFor != nil {
			evs = k.EventsFor(nil)
		}
		out = append(out, kindDoc{Kind: k.Name, Description: k.Description, Slots: nonNil(k.Slots), Events: nonNil(evs),
			Config: nonNil(k.Config), BoundsCycle: k.Cycles})
	}
	c.JSON(http.StatusOK, gin.H{"routines": out})
}

// limitBody caps request bodies; reading past the cap fails with 413.
func (a *API) limitBody(c *gin.Context) {
	if c.Request.ContentLength > a.MaxBody {
		apierr.Abort(c, apierr.BodyTooLarge, "request body exceeds the limit")
		c.Abort()
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, a.MaxBody)
	c.Next()
}

// syncLog waits (briefly) for the event log so reads see every published event.
func (a *API) syncLog(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 5*time.Second)
	defer cancel()
	if err := a.Log.Sync(ctx); err != nil {
		a.Logger.Warn("event log sync", "err", err)
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// internal logs an unexpected error and answers 500 without leaking it.
func (a *API) internal(c *gin.Context, err error) {
	a.Logger.Error("request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
	apierr.Abort(c, apierr.Internal, "internal error; see the server log")
}

// storeError maps store errors: notFound is the code of the resource asked
// for (FlowNotFound, JobNotFound); only flows can already exist.
func (a *API) storeError(c *gin.Context, notFound apierr.Code, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		apierr.Abort(c, notFound, err.Error())
	case errors.Is(err, store.ErrExists):
		apierr.Abort(c, apierr.FlowExists, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		apierr.Abort(c, apierr.Unavailable, "request cancelled or timed out")
	default:
		a.internal(c, err)
	}
}
