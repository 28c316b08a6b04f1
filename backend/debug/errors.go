package debug

import (
	"errors"
	"fmt"
)

// Errors of debugger operations; the API maps them to statuses.
var (
	ErrJobNotFound        = errors.New("job not found")
	ErrFlowNotFound       = errors.New("flow not found")
	ErrBreakpointNotFound = errors.New("breakpoint not found")
	ErrJobFinished        = errors.New("job has finished")
	ErrNotPaused          = errors.New("job is not paused in the debugger")
	ErrPauseStale         = errors.New("stale pause_id")
	ErrTooMany            = errors.New("too many breakpoints")
)

// InvalidError is bad input (400): a malformed breakpoint, a condition that
// does not compile, a bad variable name or value.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &InvalidError{Msg: fmt.Sprintf(format, args...)}
}

// UnknownError names a routine, slot or event the flow version lacks (422).
type UnknownError struct{ Msg string }

func (e *UnknownError) Error() string { return e.Msg }
