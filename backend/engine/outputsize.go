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

// checkOutputSize counts the value's JSON size without encoding it; past
// the limit it counts on to 64 times the limit to say how large it was.
func checkOutputSize(limit int64, event string, data any) error {
	if limit <= 0 {
		return nil
	}
	stop := max(limit*64, 64<<20)
	n, exact := events.EncodedSize(data, stop)
	if n <= limit {
		return nil
	}
	if !exact {
		n = stop
	}
	return &OutputTooLargeError{Event: event, Size: n, Exact: exact, Limit: limit}
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
