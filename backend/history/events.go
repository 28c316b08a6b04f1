package history

import (
	"context"
	"fmt"
	"math"

	"github.com/switchyard/switchyard/backend/events"
)

// Scan calls fn with every stored event of a job, in seq order, without
// payloads: each event has its scalar fields (type, routine, activation,
// slot, event, status, error, duration, counts, progress) but no Data,
// Level or Message. It reads the log with the fold's scanner, several times
// faster than decoding events whole, for summaries of large jobs. The event
// is reused between calls.
func (s *Service) Scan(ctx context.Context, jobID string, fn func(ev *events.Event) error) error {
	n := names{}
	var l line
	var ev events.Event
	err := s.st.EventLines(ctx, jobID, 1, math.MaxInt64, func(seq int64, b []byte) error {
		if err := parseLine(b, n, &l); err != nil {
			return fmt.Errorf("event %d of job %s: %w", seq, jobID, err)
		}
		ev = events.Event{
			Seq: l.seq, Type: l.typ, JobID: jobID, RoutineID: l.routine, ActivationID: l.aid, ParentID: l.parent,
			Slot: l.slot, Event: l.event, Status: l.status, Error: l.errMsg, ErrorType: l.errType,
			Duration: l.duration, Attempt: int(l.attempt), Emitted: int(l.emitted), Targets: int(l.targets),
			ResultMode: l.resultMode, Progress: l.progress,
		}
		return fn(&ev)
	})
	return err
}
