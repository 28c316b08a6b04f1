// Package apierr owns the API's error codes and writes the one error body
// every HTTP answer of the server uses, REST and the streams' refusals alike:
//
//	{"error": {"code": "JOB_NOT_FOUND", "message": "…", "details": …}}
//
// A Code carries its HTTP status, so a code is never sent with another one,
// and the OpenAPI document lists the codes from All.
package apierr

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Code is a machine-readable error code and the status it is answered with.
type Code struct {
	name    string
	status  int
	meaning string
}

// String is the code as sent.
func (c Code) String() string { return c.name }

// Status is the HTTP status the code is answered with.
func (c Code) Status() int { return c.status }

// Meaning says when the code is sent.
func (c Code) Meaning() string { return c.meaning }

var all []Code

func def(name string, status int, meaning string) Code {
	c := Code{name: name, status: status, meaning: meaning}
	all = append(all, c)
	return c
}

// All lists every code, by status.
func All() []Code { return append([]Code(nil), all...) }

// The codes, by status.
var (
	BadJSON        = def("BAD_JSON", http.StatusBadRequest, "the body is not the JSON the endpoint takes")
	BadFlow        = def("BAD_FLOW", http.StatusBadRequest, "the flow definition cannot be read (JSON or YAML)")
	BadBody        = def("BAD_BODY", http.StatusBadRequest, "the body cannot be read")
	BadQuery       = def("BAD_QUERY", http.StatusBadRequest, "a query parameter is malformed or out of range")
	BadRequest     = def("BAD_REQUEST", http.StatusBadRequest, "a field of the request is missing or malformed")
	FlowIDMismatch = def("FLOW_ID_MISMATCH", http.StatusBadRequest, "the body's flow_id is not the one in the path")
	NotWebSocket   = def("NOT_WEBSOCKET", http.StatusBadRequest, "a stream endpoint was asked without a WebSocket upgrade")

	Unauthorized = def("UNAUTHORIZED", http.StatusUnauthorized, "no valid token: none sent while the server asks for one, or malformed, unknown or revoked")

	Forbidden        = def("FORBIDDEN", http.StatusForbidden, "the token's role is below the one the endpoint needs")
	HostNotAllowed   = def("HOST_NOT_ALLOWED", http.StatusForbidden, "the Host header names none of the server's names (DNS rebinding)")
	OriginNotAllowed = def("ORIGIN_NOT_ALLOWED", http.StatusForbidden, "a browser page of another origin may not write or open streams")

	NotFound           = def("NOT_FOUND", http.StatusNotFound, "no such endpoint")
	FlowNotFound       = def("FLOW_NOT_FOUND", http.StatusNotFound, "no such flow (or flow version)")
	JobNotFound        = def("JOB_NOT_FOUND", http.StatusNotFound, "no such job")
	ActivationNotFound = def("ACTIVATION_NOT_FOUND", http.StatusNotFound, "no such activation of the job")
	BreakpointNotFound = def("BREAKPOINT_NOT_FOUND", http.StatusNotFound, "no such breakpoint")

	MethodNotAllowed = def("METHOD_NOT_ALLOWED", http.StatusMethodNotAllowed, "the endpoint does not take this method")

	FlowExists         = def("FLOW_EXISTS", http.StatusConflict, "a flow with this id exists")
	JobStateConflict   = def("JOB_STATE_CONFLICT", http.StatusConflict, "the job is not in a state that allows the action")
	JobFinished        = def("JOB_FINISHED", http.StatusConflict, "the job has ended")
	JobActive          = def("JOB_ACTIVE", http.StatusConflict, "the job is still active")
	NotPaused          = def("NOT_PAUSED", http.StatusConflict, "the job is not stopped in the debugger")
	PauseStale         = def("PAUSE_STALE", http.StatusConflict, "the command names a debugger stop that is over")
	TooManyBreakpoints = def("TOO_MANY_BREAKPOINTS", http.StatusConflict, "the flow or job has the most breakpoints it can have")

	BodyTooLarge = def("BODY_TOO_LARGE", http.StatusRequestEntityTooLarge, "the body exceeds the limit")

	UnsupportedMediaType = def("UNSUPPORTED_MEDIA_TYPE", http.StatusUnsupportedMediaType, "a write whose Content-Type the endpoint does not take")

	FlowInvalid   = def("FLOW_INVALID", http.StatusUnprocessableEntity, "the flow fails validation (details: the ValidationResult)")
	EntryInvalid  = def("ENTRY_INVALID", http.StatusUnprocessableEntity, "the entry routine cannot start the job")
	UnknownTarget = def("UNKNOWN_TARGET", http.StatusUnprocessableEntity, "a breakpoint names a routine, slot or event the flow does not have")

	Internal = def("INTERNAL", http.StatusInternalServerError, "an unexpected error; the server log has it")

	Unavailable  = def("UNAVAILABLE", http.StatusServiceUnavailable, "the request was cancelled or timed out, or a resource it needs is unavailable")
	ShuttingDown = def("SHUTTING_DOWN", http.StatusServiceUnavailable, "the server is shutting down")
	NotReady     = def("NOT_READY", http.StatusServiceUnavailable, "the database is not ready (readyz)")
)

// Body is the wire form of every error answer.
type Body struct {
	Error Detail `json:"error"`
}

// Detail is the error itself.
type Detail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

// Of is the body of an error.
func Of(code Code, message string, details any) Body {
	return Body{Error: Detail{Code: code.name, Message: message, Details: details}}
}

// Abort answers the request with the error and stops its handlers.
func Abort(c *gin.Context, code Code, message string) {
	c.AbortWithStatusJSON(code.status, Of(code, message, nil))
}

// AbortWithDetails is Abort with details (e.g. a ValidationResult).
func AbortWithDetails(c *gin.Context, code Code, message string, details any) {
	c.AbortWithStatusJSON(code.status, Of(code, message, details))
}

// Write answers a plain net/http request with the error.
func Write(w http.ResponseWriter, r *http.Request, code Code, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code.status)
	if r.Method == http.MethodHead {
		return
	}
	body, _ := json.Marshal(Of(code, message, nil))
	_, _ = w.Write(body)
}
