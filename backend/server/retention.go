package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/switchyard/switchyard/backend/debug"
	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/history"
	"github.com/switchyard/switchyard/backend/store"
)

// Retention runs in the background: once shortly after the server starts,
// then every minute, it deletes the finished jobs its policy no longer
// keeps, with their events, logs, breakpoints and history checkpoints, as
// DELETE /api/jobs/{id} does, then gives the freed pages back to the file
// system (incremental vacuum).
//
// It shares the writer's one connection with the event log, so it works in
// small transactions (at most retentionBatchJobs jobs and about
// retentionBatchEvents rows each, a big job's rows in parts of that size),
// and after each one it pauses retentionYield times as long as the
// transaction held the write lock: retention holds it at most a third of
// the time however much there is to delete, and the event writer's batches
// wait for it at most one transaction (~10 ms for 100 jobs) at a time.
const (
	retentionYield       = 2
	retentionFirstRun    = 10 * time.Second
	retentionInterval    = time.Minute
	retentionBatchJobs   = 100
	retentionBatchEvents = 5000
	// What one incremental_vacuum moves at most: at the end of each
	// batch's transaction (1 MiB of 4 KiB pages; while jobs are written,
	// SQLite reuses free pages anyway), and at the end of a pass, in
	// transactions of their own until none is free (4 MiB).
	vacuumBatchPages = 256
	vacuumEndPages   = 1024
)

// RetentionResult is what one retention pass removed.
type RetentionResult struct {
	Jobs       int   // jobs deleted
	Rows       int64 // rows deleted, the jobs' own included
	FreedPages int   // pages given back to the file system
	Batches    int   // batches of jobs deleted
	Took       time.Duration
	// How long the pass held the write lock: deleting, vacuuming, and the
	// longest single transaction of either.
	DeleteTime, VacuumTime, LongestStep time.Duration
}

type retainer struct {
	policy  store.RetentionPolicy
	st      *store.Store
	eng     *engine.Engine
	dbg     *debug.Debugger
	hist    *history.Service
	log     *slog.Logger
	deleted func(jobs int)

	mu      sync.Mutex // one pass at a time
	ctx     context.Context
	cancel  context.CancelFunc
	stopped chan struct{}
}

func newRetainer(policy store.RetentionPolicy, st *store.Store, eng *engine.Engine, dbg *debug.Debugger, hist *history.Service,
	log *slog.Logger, deleted func(int)) *retainer {
	r := &retainer{policy: policy, st: st, eng: eng, dbg: dbg, hist: hist, log: log, deleted: deleted, stopped: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r
}

// start runs the background loop, if the policy deletes anything.
func (r *retainer) start() {
	if !r.policy.Enabled() {
		close(r.stopped)
		return
	}
	r.log.Info("retention of finished jobs", "max_age", r.policy.MaxAge, "max_jobs", r.policy.MaxJobs)
	go func() {
		defer close(r.stopped)
		timer := time.NewTimer(retentionFirstRun)
		defer timer.Stop()
		for {
			select {
			case <-r.ctx.Done():
				return
			case <-timer.C:
			}
			if _, err := r.pass(r.ctx); err != nil && r.ctx.Err() == nil {
				r.log.Error("retention", "err", err)
			}
			timer.Reset(retentionInterval)
		}
	}()
}

// close stops the loop, ending a pass between two transactions.
func (r *retainer) close() {
	r.cancel()
	<-r.stopped
}

// pause waits d, or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pass deletes, batch by batch, every job the policy no longer keeps, then
// vacuums what that freed.
func (r *retainer) pass(ctx context.Context) (RetentionResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var res RetentionResult
	if !r.policy.Enabled() {
		return res, nil
	}
	start := time.Now()
	err := r.deleteExpired(ctx, &res)
	if err == nil {
		err = r.vacuum(ctx, &res)
	}
	res.Took = time.Since(start)
	if res.Jobs > 0 || res.FreedPages > 0 {
		_, pageSize, _ := r.st.FreePages(context.WithoutCancel(ctx))
		r.log.Info("retention deleted finished jobs", "jobs", res.Jobs, "rows", res.Rows, "batches", res.Batches,
			"freed_bytes", int64(res.FreedPages)*pageSize, "took", res.Took.Round(time.Millisecond),
			"write_lock_held", (res.DeleteTime + res.VacuumTime).Round(time.Millisecond),
			"longest_transaction", res.LongestStep.Round(time.Microsecond), "max_age", r.policy.MaxAge, "max_jobs", r.policy.MaxJobs)
	}
	return res, err
}

func (r *retainer) deleteExpired(ctx context.Context, res *RetentionResult) error {
	for ctx.Err() == nil {
		cands, err := r.st.ExpiredJobs(ctx, r.policy, time.Now(), retentionBatchJobs, retentionBatchEvents)
		if err != nil {
			return err
		}
		jobs := cands[:0]
		for _, c := range cands {
			if _, live := r.eng.Job(c.ID); !live { // its record is final, but the engine is not done with it yet
				jobs = append(jobs, c)
			}
		}
		if len(jobs) == 0 {
			return nil // none left, or the oldest are still in the engine: the next pass
		}
		// Nothing of the jobs may still be on its way to the store. Unlike
		// DELETE /api/jobs/{id}, this needs no Sync of the event log: the
		// record says the job ended only once its final event is stored,
		// and the engine publishes nothing of a job after that event. The
		// debugger's hit counts are stored apart, so they are flushed (a
		// no-op when nothing was hit).
		if err := r.dbg.Flush(ctx); err != nil {
			return err
		}
		d, err := r.st.DeleteJobs(ctx, jobs, store.DeleteOptions{PartRows: retentionBatchEvents, VacuumPages: vacuumBatchPages})
		res.FreedPages += d.FreedPages
		res.DeleteTime += d.Took
		res.LongestStep = max(res.LongestStep, d.Longest)
		res.Batches++
		res.Jobs += d.Jobs
		res.Rows += d.Rows
		if d.Jobs > 0 && r.deleted != nil {
			r.deleted(d.Jobs)
		}
		for _, j := range jobs {
			r.hist.Forget(j.ID)
		}
		if err != nil {
			return fmt.Errorf("delete jobs: %w", err)
		}
		r.log.Debug("retention batch", "jobs", d.Jobs, "rows", d.Rows, "took", d.Took)
		if err := pause(ctx, retentionYield*d.Took); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// vacuum runs incremental_vacuum steps until no page is free, pausing
// after each as long as it took.
func (r *retainer) vacuum(ctx context.Context, res *RetentionResult) error {
	for {
		n, took, err := r.st.IncrementalVacuum(ctx, vacuumEndPages)
		res.FreedPages += n
		res.VacuumTime += took
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		res.LongestStep = max(res.LongestStep, took)
		if err := pause(ctx, retentionYield*took); err != nil {
			return err
		}
	}
}

// ApplyRetention runs one retention pass now and returns what it removed
// (the background loop runs the same passes; tests call it directly).
func (s *Server) ApplyRetention(ctx context.Context) (RetentionResult, error) {
	return s.retainer.pass(ctx)
}
