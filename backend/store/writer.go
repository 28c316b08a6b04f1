package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/klauspost/compress/s2"

	"github.com/switchyard/switchyard/backend/events"
)

// Writer stores the event log in batches. Publish only appends to memory and
// never blocks; a single goroutine writes whatever accumulated in one
// transaction: one event_chunks row per job per batch, one jobs upsert per
// job whose state changed, and the derived log lines.
type Writer struct {
	db    *sqlx.DB
	stmts writerStatements
	log   *slog.Logger

	mu        sync.Mutex
	pending   []*events.Event
	published int64
	flushed   chan struct{} // closed and replaced after every batch
	wake      chan struct{}
	urgent    chan struct{} // a Sync waits: write without lingering
	stop      chan struct{}
	stopped   chan struct{}
	// walResets carry the checkpointer's WAL resets to the store stage,
	// which runs each between two batches (resetWAL).
	walResets chan walReset

	written atomic.Int64 // events made durable, in publish order
	// backlogBytes is what the events not yet stored weigh (Event.Bytes).
	backlogBytes atomic.Int64
	stats        WriterStats
	observer     atomic.Pointer[BatchObserver]
	onStored     atomic.Pointer[func([]*events.Event)]

	// summaries total the events of active jobs as they are prepared; a
	// job's is stored with its record when it ends (JobSummary).
	sumMu     sync.Mutex
	summaries map[string]*events.Summary
}

// WriterStats counts what the writer has stored.
type WriterStats struct {
	Events  atomic.Int64
	Chunks  atomic.Int64
	Batches atomic.Int64
	Logs    atomic.Int64
}

// BatchObserver is told of every batch written: how many events, and how
// long its transaction took.
type BatchObserver func(events int, took time.Duration)

// ObserveBatches sets the observer of written batches (nil: none).
func (w *Writer) ObserveBatches(fn BatchObserver) { w.observer.Store(&fn) }

// OnStored sets the function told of every batch once it is committed, in
// publish order (the event bus, which feeds live streams from it). It runs
// on the writer's goroutine: it must be quick and must not publish.
func (w *Writer) OnStored(fn func([]*events.Event)) { w.onStored.Store(&fn) }

// writerStatements are the writer's statements, prepared once: preparing
// them for every batch cost as much as running them.
type writerStatements struct {
	chunk, job, log *sqlx.Stmt
}

func prepareWriterStatements(db *sqlx.DB) (writerStatements, error) {
	var st writerStatements
	for _, s := range []struct {
		stmt **sqlx.Stmt
		sql  string
	}{{&st.chunk, insertChunkSQL}, {&st.job, upsertJobSQL}, {&st.log, insertLogSQL}} {
		stmt, err := db.Preparex(s.sql)
		if err != nil {
			st.close()
			return st, fmt.Errorf("prepare the event writer's statements: %w", err)
		}
		*s.stmt = stmt
	}
	return st, nil
}

func (st writerStatements) close() {
	for _, s := range []*sqlx.Stmt{st.chunk, st.job, st.log} {
		if s != nil {
			s.Close()
		}
	}
}

func newWriter(db *sqlx.DB, logger *slog.Logger) (*Writer, error) {
	stmts, err := prepareWriterStatements(db)
	if err != nil {
		return nil, err
	}
	w := &Writer{
		db: db, stmts: stmts, log: logger,
		flushed: make(chan struct{}),
		wake:    make(chan struct{}, 1),
		urgent:  make(chan struct{}, 1),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),

		walResets: make(chan walReset),
		summaries: map[string]*events.Summary{},
	}
	go w.loop()
	return w, nil
}

// Publish queues ev for storage. It never blocks.
func (w *Writer) Publish(ev *events.Event) {
	w.backlogBytes.Add(ev.Bytes)
	w.mu.Lock()
	w.pending = append(w.pending, ev)
	w.published++
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Stats returns the writer's counters.
func (w *Writer) Stats() *WriterStats { return &w.stats }

// Backlog is the number of published events not yet stored.
func (w *Writer) Backlog() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.published - w.written.Load()
}

// WaitBacklog waits while more than maxEvents published events, or events
// weighing more than maxBytes (Event.Bytes), are not yet stored: producers
// call it to slow down to the pace of the disk instead of queueing without
// bound.
func (w *Writer) WaitBacklog(ctx context.Context, maxEvents, maxBytes int64) error {
	return w.waitFor(ctx, func() bool {
		w.mu.Lock()
		behind := w.published - w.written.Load()
		w.mu.Unlock()
		return behind <= maxEvents && w.backlogBytes.Load() <= maxBytes
	})
}

// Sync waits until every event published before the call is stored.
func (w *Writer) Sync(ctx context.Context) error {
	w.mu.Lock()
	target := w.published
	w.mu.Unlock()
	if w.written.Load() >= target {
		return nil
	}
	select {
	case w.urgent <- struct{}{}:
	default:
	}
	if err := w.waitFor(ctx, func() bool { return w.written.Load() >= target }); err != nil {
		return fmt.Errorf("wait for event log: %w", err)
	}
	return nil
}

// waitFor waits until done holds, checking it again after every stored
// batch; it fails when ctx ends or the writer stops first.
func (w *Writer) waitFor(ctx context.Context, done func() bool) error {
	for {
		w.mu.Lock()
		ch := w.flushed // taken before done is checked: no batch slips between
		w.mu.Unlock()
		if done() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-w.stopped:
			if done() {
				return nil
			}
			return errors.New("event writer stopped")
		}
	}
}

// linger is how long the writer lets events accumulate after the first one
// arrives, so a batch carries many jobs' events in one transaction. A Sync
// cuts it short: someone waits for the batch (an API answer), and under
// load the events that arrive while a batch is written make the next one
// large anyway.
const linger = 2 * time.Millisecond

// loop is the first stage of the writer: it takes what accumulated and
// encodes it (prepare) while the second stage (store) writes the previous
// batch to SQLite, so encoding and SQLite work overlap.
func (w *Writer) loop() {
	buffers := make(chan *batchBuffers, 2) // one being filled, one being written
	buffers <- &batchBuffers{}
	buffers <- &batchBuffers{}
	prepared := make(chan *preparedBatch, 1)
	stored := make(chan struct{})
	go w.store(prepared, buffers, stored)
	defer func() {
		close(prepared)
		<-stored
		close(w.stopped)
	}()
	for {
		select {
		case <-w.wake:
		case <-w.stop:
			w.drain(prepared, buffers)
			return
		}
		select {
		case <-time.After(linger):
		case <-w.urgent:
		case <-w.stop:
		}
		w.drain(prepared, buffers)
	}
}

// drain hands every pending event on, batch by batch. It takes the
// pending events only once it holds a free buffer, that is once the store
// has taken the batch before: what arrives meanwhile joins this batch
// instead of waiting behind it, so batches grow with the load rather than
// queue up (POST /api/jobs +9 % under wrk, alternating runs).
func (w *Writer) drain(prepared chan<- *preparedBatch, buffers chan *batchBuffers) {
	for {
		bufs := <-buffers
		w.mu.Lock()
		batch := w.pending
		w.pending = nil
		w.mu.Unlock()
		if len(batch) == 0 {
			buffers <- bufs
			return
		}
		prepared <- w.prepare(batch, bufs)
	}
}

// store is the second stage: it writes prepared batches in order. A failed
// batch is retried (after a pause) rather than dropped: the log must have
// no holes.
func (w *Writer) store(prepared <-chan *preparedBatch, buffers chan<- *batchBuffers, stored chan<- struct{}) {
	defer close(stored)
	for {
		var p *preparedBatch
		select {
		case reset := <-w.walResets:
			reset.done <- w.checkpoint(reset.mode)
			continue
		case batch, ok := <-prepared:
			if !ok {
				return
			}
			p = batch
		}
		for attempt := 1; ; attempt++ {
			err := w.write(p)
			if err == nil {
				break
			}
			w.log.Error("store events", "events", p.events, "attempt", attempt, "err", err)
			select {
			case <-time.After(min(time.Duration(attempt)*100*time.Millisecond, 5*time.Second)):
			case <-w.stop:
				if attempt >= 3 {
					w.log.Error("giving up storing events at shutdown", "events", p.events)
					return
				}
			}
		}
		w.written.Add(int64(p.events))
		var weight int64
		for _, ev := range p.batch {
			weight += ev.Bytes
		}
		w.backlogBytes.Add(-weight)
		if fn := w.onStored.Load(); fn != nil && *fn != nil {
			(*fn)(p.batch)
		}
		p.batch = nil
		w.mu.Lock()
		close(w.flushed)
		w.flushed = make(chan struct{})
		w.mu.Unlock()
		buffers <- p.buffers
	}
}

// walReset asks the store stage for a checkpoint of the given mode.
type walReset struct {
	mode string
	done chan<- walResetResult
}

type walResetResult struct {
	checkpointResult
	err error
}

// resetWAL runs a checkpoint that starts the WAL over (mode RESTART or
// TRUNCATE) on the writer's connection, between two batches: the writer is
// the one connection such a checkpoint would otherwise wait for (see
// checkpointer).
func (w *Writer) resetWAL(mode string) (checkpointResult, error) {
	done := make(chan walResetResult, 1)
	select {
	case w.walResets <- walReset{mode, done}:
	case <-w.stopped:
		return checkpointResult{}, errors.New("event writer stopped")
	}
	res := <-done
	return res.checkpointResult, res.err
}

// checkpoint runs one checkpoint on the writer's connection. It waits for
// readers of older snapshots for checkpointBusyTimeout only.
func (w *Writer) checkpoint(mode string) walResetResult {
	ctx := context.Background()
	conn, err := w.db.Connx(ctx)
	if err != nil {
		return walResetResult{err: fmt.Errorf("wal checkpoint (%s): %w", mode, err)}
	}
	defer conn.Close()
	setBusyTimeout := func(d time.Duration) error {
		_, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", d.Milliseconds()))
		return err
	}
	if err := setBusyTimeout(checkpointBusyTimeout); err != nil {
		return walResetResult{err: fmt.Errorf("wal checkpoint (%s): %w", mode, err)}
	}
	r, err := walCheckpoint(ctx, conn, mode)
	if restoreErr := setBusyTimeout(busyTimeout); restoreErr != nil {
		err = errors.Join(err, fmt.Errorf("restore the busy timeout: %w", restoreErr))
	}
	return walResetResult{r, err}
}

func (w *Writer) close() {
	close(w.stop)
	<-w.stopped
	w.stmts.close()
}

// write stores one prepared batch in one transaction.
func (w *Writer) write(p *preparedBatch) error {
	start := time.Now()
	tx, err := w.db.Beginx()
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := insertChunks(tx.Stmtx(w.stmts.chunk), p.rows); err != nil {
		return err
	}
	if err := upsertJobs(tx.Stmtx(w.stmts.job), p.jobs, p.summaries, &p.buffers.job); err != nil {
		return err
	}
	if err := insertLogs(tx.Stmtx(w.stmts.log), p.logs); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	w.stats.Events.Add(int64(p.events))
	w.stats.Chunks.Add(int64(len(p.rows)))
	w.stats.Batches.Add(1)
	w.stats.Logs.Add(int64(len(p.logs)))
	if fn := w.observer.Load(); fn != nil && *fn != nil {
		(*fn)(p.events, time.Since(start))
	}
	return nil
}

// batchBuffers are reused from batch to batch (SQLite copies bound blobs),
// so steady writing allocates little.
type batchBuffers struct {
	plain, packed, job []byte
}

// preparedBatch is a batch encoded into rows, ready to be written.
type preparedBatch struct {
	batch     []*events.Event            // in publish order
	summaries map[string]*events.Summary // of the jobs that ended, whole
	events    int
	rows      []chunkRow
	jobs      map[string]jobRecord
	logs      []logLine
	buffers   *batchBuffers
}

// summarizeLocked counts ev into its job's summary; when ev ends the job it
// returns the summary (if it counts the whole log) and forgets it.
func (w *Writer) summarizeLocked(ev *events.Event) *events.Summary {
	sum := w.summaries[ev.JobID]
	if sum == nil || ev.Seq != sum.Seq+1 { // new, or begun after a restart: partial
		sum = events.NewSummary(ev.Seq)
		w.summaries[ev.JobID] = sum
	}
	sum.Add(ev)
	switch ev.Type {
	case events.JobCompleted, events.JobFailed, events.JobCancelled:
		delete(w.summaries, ev.JobID)
		if sum.Whole() {
			return sum
		}
	}
	return nil
}

// Summary is the summary of an active job's events stored or being
// stored (a copy), if the writer has counted them from the first.
func (w *Writer) Summary(jobID string) (*events.Summary, bool) {
	w.sumMu.Lock()
	defer w.sumMu.Unlock()
	sum := w.summaries[jobID]
	if sum == nil || !sum.Whole() {
		return nil, false
	}
	return sum.Copy(), true
}

// chunkRow is one event_chunks row.
type chunkRow struct {
	jobID       string
	first, last int64
	codec       int
	body        []byte
}

// prepare turns a batch into rows: one chunk per job (its events in seq
// order), the latest record of each job, and the derived log lines. Chunk
// bodies are encoded into bufs.
func (w *Writer) prepare(batch []*events.Event, bufs *batchBuffers) *preparedBatch {
	byJob := map[string][]*events.Event{}
	var order []string
	jobs := map[string]jobRecord{}
	var ended map[string]*events.Summary
	var logs []logLine
	w.sumMu.Lock()
	for _, ev := range batch {
		if _, seen := byJob[ev.JobID]; !seen {
			order = append(order, ev.JobID)
		}
		byJob[ev.JobID] = append(byJob[ev.JobID], ev)
		if ev.Job != nil {
			jobs[ev.JobID] = jobRecord{ev.Job, ev.Seq}
		}
		if sum := w.summarizeLocked(ev); sum != nil {
			if ended == nil {
				ended = map[string]*events.Summary{}
			}
			ended[ev.JobID] = sum
		}
		if l, ok := logLineOf(ev); ok {
			logs = append(logs, l)
		}
	}
	w.sumMu.Unlock()
	type span struct{ start, end int }
	spans := make([]span, len(order))
	plain := bufs.plain[:0]
	packedLen := 0
	for i, id := range order {
		start := len(plain)
		for _, ev := range byJob[id] {
			plain = append(ev.AppendStored(plain), '\n')
		}
		spans[i] = span{start, len(plain)}
		packedLen += s2.MaxEncodedLen(len(plain) - start)
	}
	bufs.plain = plain
	if cap(bufs.packed) < packedLen {
		bufs.packed = make([]byte, packedLen)
	}
	packed := bufs.packed[:packedLen]
	rows := make([]chunkRow, len(order))
	for i, id := range order {
		evs := byJob[id]
		body := plain[spans[i].start:spans[i].end]
		codec, stored := encodeChunk(packed, body)
		packed = packed[len(stored):]
		rows[i] = chunkRow{jobID: id, first: evs[0].Seq, last: evs[len(evs)-1].Seq, codec: codec, body: stored}
	}
	return &preparedBatch{batch: batch, events: len(batch), rows: rows, jobs: jobs, summaries: ended, logs: logs, buffers: bufs}
}

// jobRecord is the latest state of a job in a batch, and the seq of the
// event that carried it: how long its log is.
type jobRecord struct {
	state *events.JobState
	seq   int64
}

const insertChunkSQL = `INSERT INTO event_chunks (job_id, first_seq, last_seq, codec, body) VALUES (?,?,?,?,?)`

func insertChunks(stmt *sqlx.Stmt, rows []chunkRow) error {
	for _, r := range rows {
		if _, err := stmt.Exec(r.jobID, r.first, r.last, r.codec, r.body); err != nil {
			return fmt.Errorf("insert event chunk of job %s: %w", r.jobID, err)
		}
	}
	return nil
}

const upsertJobSQL = `INSERT INTO jobs (id, flow_id, flow_version, status, entry_routine_id, params, result, error,
		created_at, started_at, completed_at, progress, current_node, nodes_completed, nodes_failed, duration,
		activations, events, routine_states, summary)
	VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
	ON CONFLICT (id) DO UPDATE SET status = excluded.status, result = excluded.result, error = excluded.error,
		started_at = excluded.started_at, completed_at = excluded.completed_at, progress = excluded.progress,
		current_node = excluded.current_node, nodes_completed = excluded.nodes_completed,
		nodes_failed = excluded.nodes_failed, duration = excluded.duration, activations = excluded.activations,
		events = excluded.events,
		routine_states = CASE WHEN excluded.routine_states = '{}' THEN jobs.routine_states ELSE excluded.routine_states END,
		summary = COALESCE(excluded.summary, jobs.summary)`

// recordedLogEvents is the length of log from which a job's record also
// stores its routine states and, once it ends, its summary. A shorter log
// is folded when they are asked for (history.Service.State, a log scan),
// in well under a millisecond; storing them would write about three times
// what the log itself takes (4 of a chain job's 5.5 KB), and that was the
// writer's largest cost.
const recordedLogEvents = 1000

// upsertJobs writes the latest state of each job in the batch, with the
// summary of those that ended, both only for long logs (recordedLogEvents).
func upsertJobs(stmt *sqlx.Stmt, jobs map[string]jobRecord, summaries map[string]*events.Summary, scratch *[]byte) error {
	buf := *scratch
	defer func() { *scratch = buf }()
	for _, rec := range jobs {
		js := rec.state
		buf = events.AppendValue(buf[:0], js.Params)
		params := string(buf)
		buf = events.AppendValue(buf[:0], js.Result)
		result := string(buf)
		var summary *string
		buf = append(buf[:0], "{}"...)
		if rec.seq > recordedLogEvents {
			if sum := summaries[js.JobID]; sum != nil {
				text := string(sum.AppendJSON(buf[:0]))
				summary = &text
			}
			buf = events.AppendRoutineStates(buf[:0], js.RoutineStates)
		}
		_, err := stmt.Exec(js.JobID, js.FlowID, js.FlowVersion, js.Status, js.EntryRoutineID, params, result, js.Error,
			nanos(js.CreatedAt), nanosPtr(js.StartedAt), nanosPtr(js.CompletedAt), js.Progress, js.CurrentNode,
			js.NodesCompleted, js.NodesFailed, js.Duration, js.Activations, js.Events, string(buf), summary)
		if err != nil {
			return fmt.Errorf("upsert job %s: %w", js.JobID, err)
		}
	}
	return nil
}
