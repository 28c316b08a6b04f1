package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// RetentionPolicy says which finished jobs (completed, failed, cancelled)
// are deleted; a job in any other status is never selected.
type RetentionPolicy struct {
	// MaxAge: a finished job that ended longer ago than this is deleted
	// (0: no age limit).
	MaxAge time.Duration
	// MaxJobs: at most this many finished jobs are kept, the newest (by
	// id, that is by creation time); older ones are deleted (0: no limit).
	MaxJobs int
}

// Enabled reports whether the policy deletes anything at all.
func (p RetentionPolicy) Enabled() bool { return p.MaxAge > 0 || p.MaxJobs > 0 }

// finished selects the jobs retention may delete. The unary + keeps SQLite
// from answering "oldest first" through jobs_by_status, which would sort
// every finished job for each batch; scanning ids from the oldest and
// testing the status stops after one batch's worth.
const finished = `+status IN ('completed', 'failed', 'cancelled')`

// ExpiredJob is a finished job the retention policy deletes.
type ExpiredJob struct {
	ID string `db:"id"`
	// Events is the job's event count, an upper bound of its rows of
	// event_chunks and of logs: it sizes delete transactions.
	Events int64 `db:"events"`
}

// ExpiredJobs returns the oldest finished jobs that p deletes at now: those
// past MaxAge first, then those beyond MaxJobs. It returns at most
// maxJobs, and stops adding once their events add up to maxEvents (it
// always returns at least one job, when there is one). It reads from the
// read pool, so it never waits for the writer.
func (s *Store) ExpiredJobs(ctx context.Context, p RetentionPolicy, now time.Time, maxJobs int, maxEvents int64) ([]ExpiredJob, error) {
	var cands []ExpiredJob
	if p.MaxAge > 0 {
		cutoff := now.Add(-p.MaxAge)
		// A job that ended before the cutoff was created before it, and
		// job ids start with their creation time in hex milliseconds
		// (engine.newJobID): the id bound lets SQLite read only that
		// range of ids instead of the whole table.
		bound := fmt.Sprintf("job_%012x", cutoff.UnixMilli()+1)
		err := s.r.SelectContext(ctx, &cands, `SELECT id, events FROM jobs
			WHERE id < ? AND `+finished+` AND coalesce(completed_at, created_at) < ?
			ORDER BY id LIMIT ?`, bound, cutoff.UnixNano(), maxJobs)
		if err != nil {
			return nil, fmt.Errorf("select jobs past retention age: %w", err)
		}
	}
	if len(cands) == 0 && p.MaxJobs > 0 {
		var n int
		if err := s.r.GetContext(ctx, &n, `SELECT count(*) FROM jobs WHERE status IN ('completed', 'failed', 'cancelled')`); err != nil {
			return nil, fmt.Errorf("count finished jobs: %w", err)
		}
		if excess := n - p.MaxJobs; excess > 0 {
			err := s.r.SelectContext(ctx, &cands, `SELECT id, events FROM jobs WHERE `+finished+` ORDER BY id LIMIT ?`,
				min(excess, maxJobs))
			if err != nil {
				return nil, fmt.Errorf("select jobs beyond the retention count: %w", err)
			}
		}
	}
	var sum int64
	for i, c := range cands {
		sum += c.Events
		if i > 0 && sum > maxEvents {
			return cands[:i], nil
		}
	}
	return cands, nil
}

// DeleteOptions tune DeleteJobs.
type DeleteOptions struct {
	// PartRows: a job of more events than this has its events and log
	// lines deleted first, this many rows per transaction [5000].
	PartRows int
	// VacuumPages: the last transaction ends with an incremental_vacuum
	// of at most this many pages (0: none), so freed space goes back to
	// the file system without a transaction of its own.
	VacuumPages int
}

// Deleted counts what a delete removed.
type Deleted struct {
	Jobs int   // job records
	Rows int64 // rows of every table, the job records included
	// FreedPages is what the vacuum gave back to the file system.
	FreedPages int
	// Took is how long its transactions held the write lock, all told
	// (waiting for the connection and the lock not counted); Longest is
	// the longest of them.
	Took, Longest time.Duration
}

// DeleteJobs deletes finished jobs with everything of them, as DeleteJob
// does, in one write transaction; a job already gone is skipped. A job of
// more than opts.PartRows events has its events and log lines deleted
// first, PartRows rows per transaction, so no transaction holds the
// writer's connection long; its record goes last, so a job half deleted by
// a crash is still listed and deleted again by the next pass. The caller
// makes sure nothing of the jobs is still on its way to the store.
func (s *Store) DeleteJobs(ctx context.Context, jobs []ExpiredJob, opts DeleteOptions) (Deleted, error) {
	var d Deleted
	partRows := opts.PartRows
	if partRows <= 0 {
		partRows = 5000
	}
	for _, j := range jobs {
		if j.Events <= int64(partRows) {
			continue
		}
		for {
			var n int64
			took, err := s.timedTx(ctx, func(tx *sqlx.Tx) error {
				var err error
				n, err = deleteJobDataPart(ctx, tx, j.ID, partRows)
				return err
			})
			d.Took += took
			d.Longest = max(d.Longest, took)
			if err != nil {
				return d, err
			}
			d.Rows += n
			if n == 0 {
				break
			}
		}
	}
	ids := make([]any, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	took, err := s.timedTx(ctx, func(tx *sqlx.Tx) error {
		jobsGone, rows, err := deleteJobsIn(ctx, tx, ids)
		if err != nil {
			return err
		}
		d.Jobs, d.Rows = jobsGone, d.Rows+rows
		if opts.VacuumPages > 0 {
			n, err := incrementalVacuum(ctx, tx, opts.VacuumPages)
			d.FreedPages = n
			return err
		}
		return nil
	})
	d.Took += took
	d.Longest = max(d.Longest, took)
	return d, err
}

// timedTx is tx, timed from the moment the write transaction began (the
// connection and the write lock had) to its end.
func (s *Store) timedTx(ctx context.Context, fn func(*sqlx.Tx) error) (time.Duration, error) {
	tx, err := s.w.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return time.Since(start), err
	}
	err = tx.Commit()
	return time.Since(start), err
}

// deleteJobsIn deletes jobs and everything of them in tx, one statement
// per table for all of them (a statement per job and table cost about
// twice as much), and returns how many jobs and rows in all that was.
func deleteJobsIn(ctx context.Context, tx *sqlx.Tx, ids []any) (int, int64, error) {
	if len(ids) == 0 {
		return 0, 0, nil
	}
	in := "(?" + strings.Repeat(",?", len(ids)-1) + ")"
	var jobs int
	var rows int64
	for i, q := range []string{
		`DELETE FROM jobs WHERE id IN ` + in,
		`DELETE FROM event_chunks WHERE job_id IN ` + in,
		`DELETE FROM logs WHERE job_id IN ` + in,
		`DELETE FROM history_checkpoints WHERE job_id IN ` + in,
		`DELETE FROM breakpoints WHERE scope = '` + ScopeJob + `' AND scope_id IN ` + in,
	} {
		res, err := tx.ExecContext(ctx, q, ids...)
		if err != nil {
			return 0, 0, fmt.Errorf("delete %d jobs: %w", len(ids), err)
		}
		n, _ := res.RowsAffected()
		if i == 0 {
			jobs = int(n)
		}
		rows += n
	}
	return jobs, rows, nil
}

// deleteJobDataPart deletes up to n rows of a job's events, then of its
// log lines; it returns how many it deleted (0: none are left).
func deleteJobDataPart(ctx context.Context, tx *sqlx.Tx, id string, n int) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM event_chunks WHERE job_id = ? AND first_seq IN
		(SELECT first_seq FROM event_chunks WHERE job_id = ? ORDER BY first_seq LIMIT ?)`, id, id, n)
	if err != nil {
		return 0, fmt.Errorf("delete events of job %s: %w", id, err)
	}
	if k, _ := res.RowsAffected(); k > 0 {
		return k, nil
	}
	res, err = tx.ExecContext(ctx, `DELETE FROM logs WHERE job_id = ? AND seq IN
		(SELECT seq FROM logs WHERE job_id = ? ORDER BY seq LIMIT ?)`, id, id, n)
	if err != nil {
		return 0, fmt.Errorf("delete log lines of job %s: %w", id, err)
	}
	k, _ := res.RowsAffected()
	return k, nil
}
