package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/switchyard/switchyard/backend/events"
)

// JobSummary returns the totals of a job's events (events.Summary): an
// active job's as the writer counts them (call after Writer.Sync for every
// event so far), a finished job's as stored at its end if its log is long
// (recordedLogEvents). It is nil when there is none (a short log, a job
// that ended before summaries were kept, or one continued after a crash):
// the caller counts the log instead.
func (s *Store) JobSummary(ctx context.Context, jobID string) (*events.Summary, error) {
	if sum, ok := s.Writer.Summary(jobID); ok {
		return sum, nil
	}
	var text sql.NullString
	err := s.r.GetContext(ctx, &text, `SELECT summary FROM jobs WHERE id = ?`, jobID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("job %q: %w", jobID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read the summary of job %s: %w", jobID, err)
	}
	if !text.Valid {
		return nil, nil
	}
	sum := &events.Summary{}
	if err := json.Unmarshal([]byte(text.String), sum); err != nil {
		return nil, fmt.Errorf("decode the summary of job %s: %w", jobID, err)
	}
	return sum, nil
}
