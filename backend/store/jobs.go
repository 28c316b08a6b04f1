package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/switchyard/switchyard/backend/events"
)

type jobRow struct {
	events.JobState
	Created   int64  `db:"created_at"`
	Started   *int64 `db:"started_at"`
	Completed *int64 `db:"completed_at"`
	Params    string `db:"params"`
	Result    string `db:"result"`
	States    string `db:"routine_states"`
}

func (r *jobRow) state(withRoutines bool) (events.JobState, error) {
	js := r.JobState
	js.CreatedAt = fromNanos(r.Created)
	js.StartedAt = fromNanosPtr(r.Started)
	js.CompletedAt = fromNanosPtr(r.Completed)
	if err := json.Unmarshal([]byte(r.Params), &js.Params); err != nil {
		return js, fmt.Errorf("decode params of job %s: %w", js.JobID, err)
	}
	if err := json.Unmarshal([]byte(r.Result), &js.Result); err != nil {
		return js, fmt.Errorf("decode result of job %s: %w", js.JobID, err)
	}
	if withRoutines {
		if err := json.Unmarshal([]byte(r.States), &js.RoutineStates); err != nil {
			return js, fmt.Errorf("decode routine states of job %s: %w", js.JobID, err)
		}
	}
	return js, nil
}

const jobColumns = `id, flow_id, flow_version, status, entry_routine_id, params, result, error, created_at, started_at,
	completed_at, progress, current_node, nodes_completed, nodes_failed, duration, activations, events`

// GetJob loads a stored job with its routine states.
func (s *Store) GetJob(ctx context.Context, id string) (events.JobState, error) {
	var row jobRow
	err := s.r.GetContext(ctx, &row, `SELECT `+jobColumns+`, routine_states FROM jobs WHERE id = ?`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return events.JobState{}, fmt.Errorf("job %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return events.JobState{}, fmt.Errorf("get job %q: %w", id, err)
	}
	return row.state(true)
}

// ActiveJobs lists the jobs whose record says they have not ended (at
// start: the jobs the last run left active), with their routine states.
func (s *Store) ActiveJobs(ctx context.Context) ([]events.JobState, error) {
	var rows []jobRow
	if err := s.r.SelectContext(ctx, &rows, `SELECT `+jobColumns+`, routine_states FROM jobs
		WHERE status IN ('pending', 'running', 'paused') ORDER BY id`); err != nil {
		return nil, fmt.Errorf("list active jobs: %w", err)
	}
	out := make([]events.JobState, 0, len(rows))
	for i := range rows {
		js, err := rows[i].state(true)
		if err != nil {
			return nil, err
		}
		out = append(out, js)
	}
	return out, nil
}

// DeleteJob deletes a finished job with everything of it: its events,
// log lines, breakpoints and history checkpoints. The caller makes sure
// nothing of the job is still on its way to the store.
func (s *Store) DeleteJob(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		n, err := deleteJob(ctx, tx, id)
		if err == nil && n == 0 {
			err = fmt.Errorf("job %q: %w", id, ErrNotFound)
		}
		return err
	})
}

// deleteJob deletes a job and everything of it in tx, and returns how many
// rows that was (0: there was no such job).
func deleteJob(ctx context.Context, tx *sqlx.Tx, id string) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE id = ?`, id)
	if err != nil {
		return 0, fmt.Errorf("delete job %s: %w", id, err)
	}
	rows, _ := res.RowsAffected()
	if rows == 0 {
		return 0, nil
	}
	for _, q := range []string{
		`DELETE FROM event_chunks WHERE job_id = ?`,
		`DELETE FROM logs WHERE job_id = ?`,
		`DELETE FROM history_checkpoints WHERE job_id = ?`,
		`DELETE FROM breakpoints WHERE scope = '` + ScopeJob + `' AND scope_id = ?`,
	} {
		res, err := tx.ExecContext(ctx, q, id)
		if err != nil {
			return 0, fmt.Errorf("delete job %s: %w", id, err)
		}
		n, _ := res.RowsAffected()
		rows += n
	}
	return rows, nil
}

// JobFilter selects jobs; empty fields match everything.
type JobFilter struct {
	FlowID string
	Status string
	// CreatedAfter and CreatedBefore bound the creation time, [after, before);
	// zero means unbounded.
	CreatedAfter, CreatedBefore time.Time
	Limit                       int
	Offset                      int
}

// ListJobs returns jobs newest first, without routine states, and the total.
func (s *Store) ListJobs(ctx context.Context, f JobFilter) ([]events.JobState, int, error) {
	var where []string
	var args []any
	if f.FlowID != "" {
		where = append(where, "flow_id = ?")
		args = append(args, f.FlowID)
	}
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, f.Status)
	}
	if !f.CreatedAfter.IsZero() {
		where = append(where, "created_at >= ?")
		args = append(args, f.CreatedAfter.UnixNano())
	}
	if !f.CreatedBefore.IsZero() {
		where = append(where, "created_at < ?")
		args = append(args, f.CreatedBefore.UnixNano())
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := s.r.GetContext(ctx, &total, "SELECT count(*) FROM jobs"+cond, args...); err != nil {
		return nil, 0, fmt.Errorf("count jobs: %w", err)
	}
	var rows []jobRow
	err := s.r.SelectContext(ctx, &rows, "SELECT "+jobColumns+" FROM jobs"+cond+" ORDER BY id DESC LIMIT ? OFFSET ?",
		append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list jobs: %w", err)
	}
	out := make([]events.JobState, 0, len(rows))
	for i := range rows {
		js, err := rows[i].state(false)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, js)
	}
	return out, total, nil
}

// Events returns up to limit events of a job with seq > since, in order.
func (s *Store) Events(ctx context.Context, jobID string, since int64, limit int) ([]events.Event, error) {
	rows, err := s.r.QueryxContext(ctx, `SELECT codec, body FROM event_chunks WHERE job_id = ? AND last_seq > ? ORDER BY first_seq`, jobID, since)
	if err != nil {
		return nil, fmt.Errorf("read events of job %s: %w", jobID, err)
	}
	defer rows.Close()
	var out []events.Event
	for rows.Next() && len(out) < limit {
		var codec int
		var stored []byte
		if err := rows.Scan(&codec, &stored); err != nil {
			return nil, fmt.Errorf("read events of job %s: %w", jobID, err)
		}
		body, err := decodeChunk(codec, stored)
		if err != nil {
			return nil, fmt.Errorf("job %s: %w", jobID, err)
		}
		for line := range bytes.SplitSeq(bytes.TrimRight(body, "\n"), []byte{'\n'}) {
			var ev events.Event
			if err := json.Unmarshal(line, &ev); err != nil {
				return nil, fmt.Errorf("decode event of job %s: %w", jobID, err)
			}
			if ev.Seq <= since {
				continue
			}
			ev.JobID = jobID
			out = append(out, ev)
			if len(out) == limit {
				break
			}
		}
	}
	return out, rows.Err()
}
