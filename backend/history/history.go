// Package history answers post-mortem questions about any job, running or
// finished, from its event log alone: the job's state right after any seq,
// and every activation's input, emits and outcome, with the causal chain of
// activations the debugger shows as its call stack.
//
// State is folded from the log exactly as the engine changed it when it
// published each event. To answer "the state at seq N" without folding the
// whole log each time, a job's fold keeps checkpoints (copies of the state
// every Interval events) in a memory-bounded LRU cache, so a query folds at
// most one interval; an active job's fold is extended from where it
// stopped. The checkpoints of finished jobs are also stored in SQLite, so a
// job queried after a restart (or after leaving the cache) answers at once
// too. docs/post-mortem.md has the measurements behind this.
package history

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/flow"
	"github.com/switchyard/switchyard/backend/store"
)

// Store is what history reads (and the checkpoints it writes); *store.Store
// satisfies it.
type Store interface {
	GetJob(ctx context.Context, id string) (events.JobState, error)
	GetFlow(ctx context.Context, id string, version int) (*flow.Flow, error)
	// EventLines hands over the raw stored lines of events from..to.
	EventLines(ctx context.Context, jobID string, from, to int64, fn func(seq int64, line []byte) error) error
	LastEventSeq(ctx context.Context, jobID string) (int64, error)
	SaveCheckpoints(ctx context.Context, jobID string, format int, cps []store.Checkpoint) error
	LoadCheckpoint(ctx context.Context, jobID string, format int, at int64) (store.Checkpoint, bool, error)
}

// EventLog is the durable log's writer; Sync waits until every event
// published so far is stored. *store.Writer satisfies it.
type EventLog interface {
	Sync(ctx context.Context) error
}

// Options tune the service. Zero values take defaults.
type Options struct {
	// Interval is the number of events between checkpoints (default 1000):
	// the most a query folds once a job's checkpoints exist.
	Interval int
	// CacheBytes bounds the memory of cached folds, over all jobs (default
	// 64 MiB). Least recently used jobs leave the cache first; a job that
	// alone exceeds it keeps fewer checkpoints, or none.
	CacheBytes int64
	// StoredBytes bounds the encoded checkpoints stored per finished job
	// (default 8 MiB); past it, every other checkpoint is dropped until
	// they fit.
	StoredBytes int64
	// NoPersist keeps checkpoints in memory only (benchmarks of the cold
	// path; tests).
	NoPersist bool
	Logger    *slog.Logger
}

// Errors; wrapped with the job and activation concerned, test with errors.Is.
var (
	ErrJobNotFound        = errors.New("job not found")
	ErrActivationNotFound = errors.New("activation not found")
	ErrSeqOutOfRange      = errors.New("seq out of range")
)

// RangeError is a seq outside a job's log; it matches ErrSeqOutOfRange.
type RangeError struct {
	JobID    string
	At, Last int64
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("at must be between 1 and %d (the last seq of job %s), got %d", e.Last, e.JobID, e.At)
}

// Is makes errors.Is(err, ErrSeqOutOfRange) hold.
func (e *RangeError) Is(target error) bool { return target == ErrSeqOutOfRange }

// checkpointFormat versions the stored encoding of a fold; rows of another
// version are ignored (and replaced when the job is next folded whole).
const checkpointFormat = 1

// Service answers history queries. It is safe for concurrent use.
type Service struct {
	st   Store
	log  EventLog
	opts Options

	mu   sync.Mutex
	jobs map[string]*entry
	lru  *list.List // of *entry, most recently used first
	used int64      // bytes of all entries' costs
}

// New returns a service reading st; log is synced before reading an
// active job, so every event published so far is seen.
func New(st Store, log EventLog, opts Options) *Service {
	if opts.Interval <= 0 {
		opts.Interval = 1000
	}
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = 64 << 20
	}
	if opts.StoredBytes <= 0 {
		opts.StoredBytes = 8 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{st: st, log: log, opts: opts, jobs: map[string]*entry{}, lru: list.New()}
}

// entry is one job's cached history. mu is held by the query using it;
// elem and cost belong to Service.mu.
type entry struct {
	id string
	mu sync.Mutex

	base      *jobBase
	last      int64 // the log's last stored seq, as of the latest query
	names     names
	tip       *fold  // the fold at the latest folded seq (nil until built)
	index     *index // the activations, as of tip
	cps       []*fold
	interval  int64 // between checkpoints; doubles when the cache thins them
	persisted bool  // checkpoints were stored (or found stored) for this job

	elem *list.Element
	cost int64
}

// jobBase is what the fold takes from the job's stored record: the fields
// fixed at start, and the routines (each is "pending" until it starts).
type jobBase struct {
	record   events.JobState
	routines []string
	finished bool
}

// State returns the job as it was right after its latest stored event.
func (s *Service) State(ctx context.Context, jobID string) (*State, error) {
	return s.stateAt(ctx, jobID, 0, true)
}

// StateAt returns the job as it was right after event at, which must be
// between 1 and the job's last seq (else a *RangeError).
func (s *Service) StateAt(ctx context.Context, jobID string, at int64) (*State, error) {
	return s.stateAt(ctx, jobID, at, false)
}

func (s *Service) stateAt(ctx context.Context, jobID string, at int64, latest bool) (*State, error) {
	e, err := s.acquire(ctx, jobID)
	if err != nil {
		return nil, err
	}
	defer s.release(e)
	if latest {
		at = e.last
	}
	if at < 1 || at > e.last {
		return nil, &RangeError{JobID: jobID, At: at, Last: e.last}
	}
	f, err := s.foldAt(ctx, e, at)
	if err != nil {
		return nil, err
	}
	return f.state(e.base), nil
}

// ActivationQuery selects a page of a job's activations.
type ActivationQuery struct {
	RoutineID string // only this routine's activations, if set
	Limit     int    // default 100
	Offset    int
}

// Activations returns a page of the job's started activations in id order,
// with their data, and how many match in all.
func (s *Service) Activations(ctx context.Context, jobID string, q ActivationQuery) ([]Activation, int, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	q.Offset = max(q.Offset, 0)
	var list []Activation
	var total int
	err := s.withIndex(ctx, jobID, func(e *entry) error {
		ids := e.index.ids(q.RoutineID)
		total = len(ids)
		page := ids[min(q.Offset, total):min(q.Offset+q.Limit, total)]
		list = make([]Activation, len(page))
		for i, id := range page {
			list[i] = e.index.activation(id)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return list, total, s.loadData(ctx, jobID, list, true)
}

// Activation returns one activation of the job with all its data.
func (s *Service) Activation(ctx context.Context, jobID string, id int64) (*Activation, error) {
	list, err := s.stack(ctx, jobID, id, 1, true)
	if err != nil {
		return nil, err
	}
	return &list[0], nil
}

// CallStack returns the activation id, then the activation whose emit
// caused it, and so on up to the job's entry: at most limit frames (all if
// limit <= 0). Frames carry their input; their emits are listed (event,
// targets, seq) without data, since the data an emit passed on is the next
// frame's input (and a split's thousands of items would make every stack
// large): Activation has them. It works on a live job: the log is synced
// first, so the parent of an activation held at a breakpoint (which has not
// started, so is not an activation of the log yet) is there.
func (s *Service) CallStack(ctx context.Context, jobID string, id int64, limit int) ([]Activation, error) {
	return s.stack(ctx, jobID, id, limit, false)
}

func (s *Service) stack(ctx context.Context, jobID string, id int64, limit int, emits bool) ([]Activation, error) {
	var frames []Activation
	err := s.withIndex(ctx, jobID, func(e *entry) error {
		if e.index.get(id) == nil {
			return notStarted(e, jobID, id)
		}
		for cur := id; cur > 0 && (limit <= 0 || len(frames) < limit); {
			a := e.index.get(cur)
			if a == nil {
				break
			}
			frames = append(frames, e.index.activation(cur))
			if a.parent >= cur { // parents are queued before their children; a damaged log must not loop
				break
			}
			cur = a.parent
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return frames, s.loadData(ctx, jobID, frames, emits)
}

func notStarted(e *entry, jobID string, id int64) error {
	if id >= 1 && id <= int64(len(e.index.acts)) {
		return fmt.Errorf("%w: activation %d of job %s has not started (it was queued, or waits at a breakpoint)",
			ErrActivationNotFound, id, jobID)
	}
	return fmt.Errorf("%w: job %s has no activation %d (it has %d)", ErrActivationNotFound, jobID, id, len(e.index.acts))
}

// withIndex runs fn on the job's entry with its fold and index extended to
// the latest stored event.
func (s *Service) withIndex(ctx context.Context, jobID string, fn func(*entry) error) error {
	e, err := s.acquire(ctx, jobID)
	if err != nil {
		return err
	}
	defer s.release(e)
	if err := s.ensureTip(ctx, e); err != nil {
		return err
	}
	return fn(e)
}

// acquire returns the job's entry, locked and refreshed.
func (s *Service) acquire(ctx context.Context, jobID string) (*entry, error) {
	s.mu.Lock()
	e := s.jobs[jobID]
	if e == nil {
		e = &entry{id: jobID, names: names{}, interval: int64(s.opts.Interval)}
		e.elem = s.lru.PushFront(e)
		s.jobs[jobID] = e
	} else if e.elem != nil {
		s.lru.MoveToFront(e.elem)
	}
	s.mu.Unlock()
	e.mu.Lock()
	if err := s.refresh(ctx, e); err != nil {
		if e.base == nil {
			s.forget(e)
		}
		e.mu.Unlock()
		return nil, err
	}
	return e, nil
}

// refresh loads what changes while a job runs: its record and last seq.
// A finished job's are final, so they are read once.
func (s *Service) refresh(ctx context.Context, e *entry) error {
	if e.base != nil && e.base.finished {
		return nil
	}
	rec, err := s.getJob(ctx, e.id)
	if errors.Is(err, ErrJobNotFound) {
		// A job just started may not be stored yet: its first events
		// can still be on their way to the store.
		if serr := s.sync(ctx); serr == nil {
			rec, err = s.getJob(ctx, e.id)
		}
	}
	if err != nil {
		return err
	}
	if !events.Finished(rec.Status) {
		// Every event published so far must be readable; if the writer
		// cannot say so in time, answer from what is stored.
		if err := s.sync(ctx); err != nil {
			s.opts.Logger.Warn("history: event log sync", "job", e.id, "err", err)
		}
		if rec, err = s.getJob(ctx, e.id); err != nil { // it may have ended meanwhile
			return err
		}
	}
	base := &jobBase{record: rec, finished: events.Finished(rec.Status)}
	base.record.RoutineStates = nil
	base.routines = s.routineIDs(ctx, e, rec)
	last, err := s.st.LastEventSeq(ctx, e.id)
	if err != nil {
		return err
	}
	e.base, e.last = base, last
	return nil
}

// syncTimeout bounds the wait for the event writer (a stuck disk must not
// hold a query for longer than a client waits).
const syncTimeout = 5 * time.Second

func (s *Service) sync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	return s.log.Sync(ctx)
}

func (s *Service) getJob(ctx context.Context, id string) (events.JobState, error) {
	rec, err := s.st.GetJob(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return rec, fmt.Errorf("%w: %s", ErrJobNotFound, id)
	}
	if err != nil {
		return rec, fmt.Errorf("history of job %s: %w", id, err)
	}
	return rec, nil
}

// routineIDs lists the job's routines: a finished job's record has them
// all; an active job's record is its start snapshot, without routine
// states, so they come from the flow version it runs.
func (s *Service) routineIDs(ctx context.Context, e *entry, rec events.JobState) []string {
	if len(rec.RoutineStates) > 0 {
		ids := make([]string, 0, len(rec.RoutineStates))
		for id := range rec.RoutineStates {
			ids = append(ids, id)
		}
		return ids
	}
	if e.base != nil && len(e.base.routines) > 0 {
		return e.base.routines
	}
	if rec.FlowVersion <= 0 {
		return nil // not a stored version (engine tests); routines appear as they start
	}
	f, err := s.st.GetFlow(ctx, rec.FlowID, rec.FlowVersion)
	if err != nil {
		s.opts.Logger.Debug("history: flow of job", "job", e.id, "err", err)
		return nil
	}
	ids := make([]string, 0, len(f.Routines))
	for id := range f.Routines {
		ids = append(ids, id)
	}
	return ids
}

// foldAt returns the job's fold right after event at. The result may be
// the entry's own tip: callers only read it, under e.mu.
func (s *Service) foldAt(ctx context.Context, e *entry, at int64) (*fold, error) {
	if e.tip == nil {
		if e.base.finished && !s.opts.NoPersist {
			if f, ok, err := s.fromStored(ctx, e, at); err != nil || ok {
				return f, err
			}
		}
		if at <= e.interval { // no cheaper start than the beginning
			f := newFold()
			return f, s.foldRange(ctx, e, f, false, at)
		}
	}
	if err := s.ensureTip(ctx, e); err != nil {
		return nil, err
	}
	if at == e.tip.Seq {
		return e.tip, nil
	}
	f := newFold()
	if i := sort.Search(len(e.cps), func(i int) bool { return e.cps[i].Seq > at }); i > 0 {
		f = e.cps[i-1].copy()
	}
	return f, s.foldRange(ctx, e, f, false, at)
}

// fromStored folds from the job's stored checkpoint nearest before at.
func (s *Service) fromStored(ctx context.Context, e *entry, at int64) (*fold, bool, error) {
	cp, ok, err := s.st.LoadCheckpoint(ctx, e.id, checkpointFormat, at)
	if err != nil || !ok {
		return nil, false, err
	}
	f := &fold{}
	if err := json.Unmarshal(cp.Body, f); err != nil || f.Seq != cp.Seq {
		s.opts.Logger.Warn("history: unreadable stored checkpoint; folding the log instead", "job", e.id, "seq", cp.Seq, "err", err)
		return nil, false, nil
	}
	f.normalize()
	e.persisted = true
	return f, true, s.foldRange(ctx, e, f, false, at)
}

// ensureTip builds or extends the entry's own fold and index to the last
// stored event, taking checkpoints on the way, and stores the checkpoints
// of a finished job once it is folded whole.
func (s *Service) ensureTip(ctx context.Context, e *entry) error {
	if e.tip == nil {
		e.tip, e.index, e.cps = newFold(), newIndex(e.base.record.Activations), nil
	}
	if e.tip.Seq < e.last {
		if err := s.foldRange(ctx, e, e.tip, true, e.last); err != nil {
			return err
		}
	}
	if e.base.finished && !e.persisted && !s.opts.NoPersist && e.tip.Seq == e.last {
		s.persist(ctx, e)
	}
	return nil
}

// foldRange applies the events after f.Seq up to to. With tip, f is the
// entry's tip: the index follows, and checkpoints are taken.
func (s *Service) foldRange(ctx context.Context, e *entry, f *fold, tip bool, to int64) error {
	next := f.Seq + 1
	var l line
	err := s.st.EventLines(ctx, e.id, next, to, func(seq int64, b []byte) error {
		if seq != next {
			return fmt.Errorf("event log of job %s has a gap: seq %d follows %d", e.id, seq, next-1)
		}
		if seq&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("fold job %s: %w", e.id, err)
			}
		}
		if err := parseLine(b, e.names, &l); err != nil {
			return fmt.Errorf("job %s, seq %d: %w", e.id, seq, err)
		}
		l.seq = seq
		queued := f.Activations
		f.apply(&l)
		if tip {
			e.index.apply(&l, queued)
			if seq%e.interval == 0 {
				e.cps = append(e.cps, f.copy())
			}
		}
		next++
		return nil
	})
	if err != nil {
		return err
	}
	if next <= to {
		return fmt.Errorf("event log of job %s ends at seq %d, before %d", e.id, next-1, to)
	}
	return nil
}

// persist stores a finished job's checkpoints, unless they are stored
// already. Failing only costs speed later, so it is logged, not returned.
func (s *Service) persist(ctx context.Context, e *entry) {
	e.persisted = true
	if len(e.cps) == 0 {
		return // a short log: folding it whole is as quick as loading a checkpoint
	}
	if _, ok, err := s.st.LoadCheckpoint(ctx, e.id, checkpointFormat, e.last); err != nil || ok {
		return
	}
	rows := make([]store.Checkpoint, 0, len(e.cps))
	var size int64
	for _, cp := range e.cps {
		body, err := json.Marshal(cp)
		if err != nil {
			s.opts.Logger.Warn("history: encode checkpoint", "job", e.id, "seq", cp.Seq, "err", err)
			return
		}
		rows = append(rows, store.Checkpoint{Seq: cp.Seq, Body: body})
		size += int64(len(body))
	}
	for size > s.opts.StoredBytes && len(rows) > 1 {
		rows, size = everyOther(rows)
	}
	if size > s.opts.StoredBytes {
		return
	}
	if err := s.st.SaveCheckpoints(ctx, e.id, checkpointFormat, rows); err != nil {
		s.opts.Logger.Warn("history: store checkpoints", "job", e.id, "err", err)
	}
}

// everyOther keeps the odd-numbered checkpoints (seqs 2k, 4k, …).
func everyOther(rows []store.Checkpoint) ([]store.Checkpoint, int64) {
	var kept []store.Checkpoint
	var size int64
	for i := 1; i < len(rows); i += 2 {
		kept = append(kept, rows[i])
		size += int64(len(rows[i].Body))
	}
	return kept, size
}

// loadData reads the input (and with emits, the emitted data) of the
// activations from the log. Needed seqs far apart are read as separate
// ranges, so a page does not read the chunks between them.
func (s *Service) loadData(ctx context.Context, jobID string, list []Activation, emits bool) error {
	seqs := dataSeqs(list, emits)
	data := make(map[int64]json.RawMessage, len(seqs))
	n := names{}
	for start := 0; start < len(seqs); {
		end := start + 1
		for end < len(seqs) && seqs[end]-seqs[end-1] < 8192 {
			end++
		}
		want := seqs[start:end]
		k := 0
		var l line
		err := s.st.EventLines(ctx, jobID, want[0], want[len(want)-1], func(seq int64, b []byte) error {
			for k < len(want) && want[k] < seq {
				k++
			}
			if k == len(want) || want[k] != seq {
				return nil
			}
			if err := parseLine(b, n, &l); err != nil {
				return fmt.Errorf("job %s, seq %d: %w", jobID, seq, err)
			}
			data[seq] = own(l.data) // the line's bytes are reused after this call
			return nil
		})
		if err != nil {
			return fmt.Errorf("read activation data of job %s: %w", jobID, err)
		}
		start = end
	}
	fillData(list, data)
	return nil
}

// release unlocks e after a query, accounting for its new size: the cache
// drops least recently used jobs past the budget, and thins a job that
// alone exceeds it.
func (s *Service) release(e *entry) {
	cost := e.costLocked()
	for cost > s.opts.CacheBytes && len(e.cps) > 0 {
		e.thin()
		cost = e.costLocked()
	}
	if cost > s.opts.CacheBytes { // even the tip is too big: fold again next time
		e.tip, e.index, e.cps, e.interval = nil, nil, nil, int64(s.opts.Interval)
		cost = e.costLocked()
	}
	s.mu.Lock()
	if e.elem != nil {
		s.used += cost - e.cost
		e.cost = cost
		for back := s.lru.Back(); s.used > s.opts.CacheBytes && back != nil; {
			victim := back.Value.(*entry)
			back = back.Prev()
			if victim != e {
				s.removeLocked(victim)
			}
		}
	}
	s.mu.Unlock()
	e.mu.Unlock()
}

// Forget drops what is cached of a job (it was deleted).
func (s *Service) Forget(jobID string) {
	s.mu.Lock()
	if e := s.jobs[jobID]; e != nil && e.elem != nil {
		s.removeLocked(e)
	}
	s.mu.Unlock()
}

// forget drops an entry that turned out not to be a job.
func (s *Service) forget(e *entry) {
	s.mu.Lock()
	if e.elem != nil {
		s.removeLocked(e)
	}
	s.mu.Unlock()
}

func (s *Service) removeLocked(e *entry) {
	s.lru.Remove(e.elem)
	e.elem = nil
	s.used -= e.cost
	if s.jobs[e.id] == e {
		delete(s.jobs, e.id)
	}
}

// thin drops every other checkpoint, doubling the interval.
func (e *entry) thin() {
	e.interval *= 2
	kept := e.cps[:0]
	for _, cp := range e.cps {
		if cp.Seq%e.interval == 0 {
			kept = append(kept, cp)
		}
	}
	clear(e.cps[len(kept):])
	e.cps = kept
}

// costLocked estimates the entry's memory in bytes.
func (e *entry) costLocked() int64 {
	n := int64(512)
	if e.tip != nil {
		n += e.tip.cost() + e.tip.resultItemsCost() + e.index.cost()
	}
	for _, cp := range e.cps {
		n += cp.cost()
	}
	return n
}

// CacheUsage reports the cache's estimated bytes and number of jobs.
func (s *Service) CacheUsage() (bytes int64, jobs int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used, len(s.jobs)
}
