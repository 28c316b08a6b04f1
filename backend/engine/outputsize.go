package engine

import (
	"fmt"
	"strings"

	"github.com/switchyard/switchyard/backend/events"
)

// OutputTooLargeError is the error of an Emit whose value, as JSON, is over
// Options.MaxOutputBytes. It fails the activation like any routine error, so
// the routine's error policy applies.
type OutputTooLargeError struct {
	Event string
	Size  int64 // encoded size; with Exact false, the count stopped above this
	Exact bool
	Limit int64
}

func (e *OutputTooLargeError) Error() string {
	size := sizeText(e.Size)
	if !e.Exact {
		size = "more than " + size
	}
	return fmt.Sprintf("emitted %s on %q, more than the %s limit (--max-output-bytes)", size, e.Event, sizeText(e.Limit))
}

// Type is the routine_failed event's error_type.
func (e *OutputTooLargeError) Type() string { return "OutputTooLarge" }

// outputSize counts the value's JSON size without encoding it, up to what
// the job's queue could hold (queueLimit, if positive), and fails a value
// over limit; past the limit it counts on to 64 times the limit to say how
// large it was.
func outputSize(limit, queueLimit int64, event string, data any) (int64, error) {
	stop := int64(1) << 62
	if queueLimit > 0 {
		stop = queueLimit + 1
	}
	if limit > 0 {
		stop = max(limit*64, 64<<20)
	}
	n, exact := events.EncodedSize(data, stop)
	if limit <= 0 || n <= limit {
		return n, nil
	}
	if !exact {
		n = stop
	}
	return n, &OutputTooLargeError{Event: event, Size: n, Exact: exact, Limit: limit}
}

// activationCost is what a queued activation is charged besides its
// payload: its own memory, roughly.
const activationCost = 256

// QueueFullError ends a job whose queue would hold more than
// Options.MaxQueuedBytes.
type QueueFullError struct{ Held, Limit int64 }

func (e *QueueFullError) Error() string {
	return fmt.Sprintf("the job would hold %s of queued data, more than its %s limit: does the flow multiply its data in a cycle?",
		sizeText(e.Held), sizeText(e.Limit))
}

// sizeText renders a byte count in MB (binary, one decimal at most), KB
// or bytes.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/(1<<20)), ".0") + " MB"
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
