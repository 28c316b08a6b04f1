package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/switchyard/switchyard/backend/apierr"
	"github.com/switchyard/switchyard/backend/debug"
	"github.com/switchyard/switchyard/backend/store"
)

// Debugger is the debugger: breakpoints of flows and jobs, and the debug
// session of a stopped job (docs/debugger.md).
type Debugger interface {
	CreateBreakpoint(ctx context.Context, scope, id string, in debug.BreakpointInput) (debug.Breakpoint, error)
	Breakpoints(ctx context.Context, scope, id string) ([]debug.Breakpoint, error)
	UpdateBreakpoint(ctx context.Context, scope, id, bpID string, p debug.BreakpointPatch) (debug.Breakpoint, error)
	DeleteBreakpoint(ctx context.Context, scope, id, bpID string) error
	Session(ctx context.Context, jobID string) (debug.SessionView, error)
	Command(ctx context.Context, jobID, mode, pauseID string) (debug.SessionView, error)
	Stopped(jobID string) bool
	CallStack(ctx context.Context, jobID string) ([]debug.Frame, error)
	Variables(ctx context.Context, jobID string, frameIndex int) (debug.Variables, error)
	SetVariable(ctx context.Context, jobID, name string, value any, pauseID string) (debug.Variables, error)
	Evaluate(ctx context.Context, jobID, expression string, frameIndex int) (debug.EvalResult, error)
	// Flush stores what the debugger holds back (hit counts, inherited
	// breakpoints), e.g. before a job is deleted.
	Flush(ctx context.Context) error
}

func (a *API) registerDebug(g *gin.RouterGroup) {
	for _, scope := range []struct{ path, scope string }{{"/jobs/:id", store.ScopeJob}, {"/flows/:id", store.ScopeFlow}} {
		g.POST(scope.path+"/breakpoints", a.createBreakpoint(scope.scope))
		g.GET(scope.path+"/breakpoints", a.listBreakpoints(scope.scope))
		g.PUT(scope.path+"/breakpoints/:bp", a.updateBreakpoint(scope.scope))
		g.DELETE(scope.path+"/breakpoints/:bp", a.deleteBreakpoint(scope.scope))
	}
	g.GET("/jobs/:id/debug/session", a.debugSession)
	g.GET("/jobs/:id/debug/call-stack", a.debugCallStack)
	g.GET("/jobs/:id/debug/variables", a.debugVariables)
	g.PUT("/jobs/:id/debug/variables/:name", a.debugSetVariable)
	g.POST("/jobs/:id/debug/evaluate", a.debugEvaluate)
	g.POST("/jobs/:id/debug/resume", a.debugCommand(debug.StepContinue))
	g.POST("/jobs/:id/debug/step-over", a.debugCommand(debug.StepOver))
	g.POST("/jobs/:id/debug/step-into", a.debugCommand(debug.StepInto))
	g.POST("/jobs/:id/debug/step-out", a.debugCommand(debug.StepOut))
}

// debugError maps the debugger's errors to statuses.
func (a *API) debugError(c *gin.Context, err error) {
	var bad *debug.InvalidError
	var unknown *debug.UnknownError
	switch {
	case errors.As(err, &bad):
		apierr.Abort(c, apierr.BadRequest, bad.Msg)
	case errors.As(err, &unknown):
		apierr.Abort(c, apierr.UnknownTarget, unknown.Msg)
	case errors.Is(err, debug.ErrJobNotFound):
		apierr.Abort(c, apierr.JobNotFound, err.Error())
	case errors.Is(err, debug.ErrFlowNotFound):
		apierr.Abort(c, apierr.FlowNotFound, err.Error())
	case errors.Is(err, debug.ErrBreakpointNotFound):
		apierr.Abort(c, apierr.BreakpointNotFound, err.Error())
	case errors.Is(err, debug.ErrJobFinished):
		apierr.Abort(c, apierr.JobFinished, err.Error())
	case errors.Is(err, debug.ErrNotPaused):
		apierr.Abort(c, apierr.NotPaused, err.Error())
	case errors.Is(err, debug.ErrPauseStale):
		apierr.Abort(c, apierr.PauseStale, err.Error())
	case errors.Is(err, debug.ErrTooMany):
		apierr.Abort(c, apierr.TooManyBreakpoints, err.Error())
	default:
		a.storeError(c, apierr.JobNotFound, err)
	}
}

// debugBody reads an optional JSON object body into v (an empty body
// leaves v as it is).
func debugBody(c *gin.Context, v any) bool {
	body, ok := readBody(c)
	if !ok {
		return false
	}
	if len(body) == 0 {
		return true
	}
	return decodeJSON(c, body, v)
}

func (a *API) createBreakpoint(scope string) gin.HandlerFunc {
	return func(c *gin.Context) {
		var in debug.BreakpointInput
		if !readJSON(c, &in) {
			return
		}
		if scope == store.ScopeJob {
			a.syncLog(c)
		}
		bp, err := a.Debug.CreateBreakpoint(c.Request.Context(), scope, c.Param("id"), in)
		if err != nil {
			a.debugError(c, err)
			return
		}
		c.JSON(http.StatusCreated, bp)
	}
}

func (a *API) listBreakpoints(scope string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if scope == store.ScopeJob {
			a.syncLog(c)
		}
		list, err := a.Debug.Breakpoints(c.Request.Context(), scope, c.Param("id"))
		if err != nil {
			a.debugError(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"breakpoints": nonNil(list), "total": len(list)})
	}
}

func (a *API) updateBreakpoint(scope string) gin.HandlerFunc {
	return func(c *gin.Context) {
		var p debug.BreakpointPatch
		if !readJSON(c, &p) {
			return
		}
		bp, err := a.Debug.UpdateBreakpoint(c.Request.Context(), scope, c.Param("id"), c.Param("bp"), p)
		if err != nil {
			a.debugError(c, err)
			return
		}
		c.JSON(http.StatusOK, bp)
	}
}

func (a *API) deleteBreakpoint(scope string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := a.Debug.DeleteBreakpoint(c.Request.Context(), scope, c.Param("id"), c.Param("bp")); err != nil {
			a.debugError(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}

func (a *API) debugSession(c *gin.Context) {
	a.syncLog(c)
	v, err := a.Debug.Session(c.Request.Context(), c.Param("id"))
	if err != nil {
		a.debugError(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

func (a *API) debugCallStack(c *gin.Context) {
	a.syncLog(c)
	frames, err := a.Debug.CallStack(c.Request.Context(), c.Param("id"))
	if err != nil {
		a.debugError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"job_id": c.Param("id"), "call_stack": frames})
}

func (a *API) debugVariables(c *gin.Context) {
	frame, ok := intQuery(c, "frame_index", 0, 0, 1<<31-1)
	if !ok {
		return
	}
	a.syncLog(c)
	v, err := a.Debug.Variables(c.Request.Context(), c.Param("id"), frame)
	if err != nil {
		a.debugError(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

type setVariableRequest struct {
	Value   *any   `json:"value"`
	PauseID string `json:"pause_id"`
}

func (a *API) debugSetVariable(c *gin.Context) {
	var req setVariableRequest
	if !readJSON(c, &req) {
		return
	}
	if req.Value == nil {
		apierr.Abort(c, apierr.BadRequest, `"value" is required (use null to set null)`)
		return
	}
	v, err := a.Debug.SetVariable(c.Request.Context(), c.Param("id"), c.Param("name"), *req.Value, req.PauseID)
	if err != nil {
		a.debugError(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

type evaluateRequest struct {
	Expression string `json:"expression"`
	FrameIndex int    `json:"frame_index"`
}

// maxExpression bounds the source of an expression sent to be evaluated
// or checked.
const maxExpression = 10_000

// tooLong answers 400 for an expression longer than maxExpression.
func tooLong(c *gin.Context, expression string) bool {
	if len(expression) <= maxExpression {
		return false
	}
	apierr.Abort(c, apierr.BadRequest, fmt.Sprintf("expression is longer than %d bytes", maxExpression))
	return true
}

func (a *API) debugEvaluate(c *gin.Context) {
	var req evaluateRequest
	if !readJSON(c, &req) {
		return
	}
	if tooLong(c, req.Expression) {
		return
	}
	a.syncLog(c)
	r, err := a.Debug.Evaluate(c.Request.Context(), c.Param("id"), req.Expression, req.FrameIndex)
	if err != nil {
		a.debugError(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

type commandRequest struct {
	PauseID string `json:"pause_id"`
}

func (a *API) debugCommand(mode string) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req commandRequest
		if !debugBody(c, &req) {
			return
		}
		v, err := a.Debug.Command(c.Request.Context(), c.Param("id"), mode, req.PauseID)
		if err != nil {
			a.debugError(c, err)
			return
		}
		c.JSON(http.StatusOK, v)
	}
}
