package store_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/store"
)

// TestWALShrinksAfterABusyPeriod writes 20,000 small jobs as fast as the
// writer takes them, with a reader keeping read transactions open now and
// then (as the API does), and checks that the -wal file is cut back once
// writing stops: it is truncated about every 10 s. It logs
// the peak size seen.
func TestWALShrinksAfterABusyPeriod(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("writes 20,000 jobs and waits for a truncating checkpoint")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	defer s.Close()
	wal := filepath.Join(dir, store.FileName) + "-wal"
	size := func() int64 {
		st, err := os.Stat(wal)
		if err != nil {
			return 0
		}
		return st.Size()
	}

	var peak int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // sample the WAL's size
		defer wg.Done()
		for {
			peak = max(peak, size())
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	go func() { // a reader, as the API's
		defer wg.Done()
		for {
			_, _, _ = s.ListJobs(ctx, store.JobFilter{Limit: 50})
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	const jobs = 20000
	start := time.Now()
	now := time.Now()
	for i := 0; i < jobs; i++ {
		publishDated(s.Writer, jobID(now, i), now, now, 3, events.StatusCompleted)
		if i%500 == 499 {
			if err := s.Writer.Sync(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Writer.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	wrote := time.Since(start)
	atEnd := size()

	// The bound: the journal_size_limit the WAL is cut back to when it
	// restarts; the truncating checkpoint takes it to 0.
	const bound = 64 << 20
	deadline := time.Now().Add(25 * time.Second)
	for size() > bound/64 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	shrunk := time.Since(start) - wrote
	t.Logf("%d jobs (%d events) in %v; WAL peak %.1f MB, %.1f MB when writing stopped, %.1f MB %v later",
		jobs, s.Writer.Stats().Events.Load(), wrote.Round(time.Millisecond), float64(peak)/1e6, float64(atEnd)/1e6,
		float64(size())/1e6, shrunk.Round(time.Millisecond))
	if got := size(); got > bound/64 {
		t.Fatalf("WAL still %d bytes 25 s after writing stopped (peak %d)", got, peak)
	}
	// Past the limit the WAL is truncated at the next checkpoint (250 ms):
	// what the writer added meanwhile is the margin.
	if peak > 2*bound {
		t.Errorf("WAL peaked at %d bytes, over twice %d", peak, bound)
	}
	if _, total, err := s.ListJobs(ctx, store.JobFilter{Limit: 1}); err != nil || total != jobs {
		t.Fatalf("%d jobs stored (%v), want %d", total, err, jobs)
	}
}

// TestTheWALStartsOverWhileWritingGoesOn writes jobs without pause until
// the WAL has passed walSizeLimit (64 MB) and started over twice (its
// header's checkpoint sequence counts the restarts): the resets must
// happen while the writer is busy, not only once it is idle, and keep the
// file near the limit.
func TestTheWALStartsOverWhileWritingGoesOn(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("writes until the WAL passes 64 MB twice")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	defer s.Close()
	wal := filepath.Join(dir, store.FileName) + "-wal"
	restarts := func() uint32 { // the WAL header's checkpoint sequence number
		f, err := os.Open(wal)
		if err != nil {
			return 0
		}
		defer f.Close()
		var header [16]byte
		if _, err := io.ReadFull(f, header[:]); err != nil {
			return 0
		}
		return binary.BigEndian.Uint32(header[12:])
	}
	first := restarts()
	const limit = 64 << 20
	var peak int64
	now := time.Now()
	start := time.Now()
	jobs := 0
	for restarts() < first+2 {
		if time.Since(start) > 2*time.Minute {
			t.Fatalf("the WAL started over %d times in 2 minutes of writing (%d jobs, peak %d bytes)", restarts()-first, jobs, peak)
		}
		for k := 0; k < 500; k++ {
			publishDated(s.Writer, jobID(now, jobs), now, now, 3, events.StatusCompleted)
			jobs++
		}
		if err := s.Writer.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Stat(wal); err == nil {
			peak = max(peak, st.Size())
		}
	}
	t.Logf("%d jobs in %v; the WAL peaked at %.1f MB", jobs, time.Since(start).Round(time.Millisecond), float64(peak)/1e6)
	if peak > 2*limit {
		t.Errorf("WAL peaked at %d bytes, over twice %d", peak, limit)
	}
	if _, total, err := s.ListJobs(ctx, store.JobFilter{Limit: 1}); err != nil || total != jobs {
		t.Fatalf("%d jobs stored (%v), want %d", total, err, jobs)
	}
}

// TestALongReaderDoesNotStallTheWriter holds a read transaction open for
// 12 s (as a backup does) while jobs are written. A truncating checkpoint
// holds the writer's lock while it waits for such a reader; it used to wait
// the connections' busy timeout (10 s), and the writer with it.
func TestALongReaderDoesNotStallTheWriter(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("holds a reader for 12 s")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	defer s.Close()
	var mu sync.Mutex
	var worst time.Duration
	s.Writer.ObserveBatches(func(_ int, took time.Duration) {
		mu.Lock()
		worst = max(worst, took)
		mu.Unlock()
	})
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, store.FileName)+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow("SELECT count(*) FROM jobs").Scan(&n); err != nil { // the snapshot is taken
		t.Fatal(err)
	}
	now := time.Now()
	start := time.Now()
	jobs := 0
	for time.Since(start) < 12*time.Second {
		for k := 0; k < 50; k++ {
			publishDated(s.Writer, jobID(now, jobs), now, now, 3, events.StatusCompleted)
			jobs++
		}
		if err := s.Writer.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = tx.Rollback()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d jobs written in 12 s beside an open reader; the longest write transaction took %v", jobs, worst)
	if worst > 5*time.Second {
		t.Fatalf("a write transaction took %v: the writer stalled behind a checkpoint waiting for the reader", worst)
	}
}

// jobID is an id as the engine makes them: the creation time in hex
// milliseconds, then a suffix.
func jobID(created time.Time, n int) string {
	return fmt.Sprintf("job_%012x%08x", created.UnixMilli(), n)
}

// publishDated writes a job created at created with n routine events; a
// final status other than "" ends it at ended.
func publishDated(w *store.Writer, id string, created, ended time.Time, n int, final string) {
	state := &events.JobState{JobID: id, FlowID: "f", FlowVersion: 1, Status: events.StatusRunning, CreatedAt: created, StartedAt: &created}
	seq := int64(0)
	pub := func(ev *events.Event) {
		seq++
		ev.Seq, ev.JobID, ev.FlowID, ev.Time = seq, id, "f", created
		w.Publish(ev)
	}
	pub(&events.Event{Type: events.JobStarted, Job: state})
	for i := 0; i < n; i++ {
		pub(&events.Event{Type: events.Log, RoutineID: "a", Level: "info", Message: "step"})
	}
	if final != "" {
		end := *state
		end.Status = final
		end.CompletedAt = &ended
		end.Events = seq + 1
		typ := map[string]string{events.StatusCompleted: events.JobCompleted, events.StatusFailed: events.JobFailed,
			events.StatusCancelled: events.JobCancelled}[final]
		pub(&events.Event{Type: typ, Job: &end})
	}
}

// sqliteInt reads one integer from a database file with a connection of
// its own.
func sqliteInt(t *testing.T, path, query string) int64 {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestIncrementalVacuumGivesDeletedSpaceBack(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	defer s.Close()
	path := filepath.Join(dir, store.FileName)
	if mode := sqliteInt(t, path, "PRAGMA auto_vacuum"); mode != 2 {
		t.Fatalf("auto_vacuum of a new database: %d, want 2 (incremental)", mode)
	}
	now := time.Now()
	var all []string
	for i := 0; i < 300; i++ {
		id := jobID(now, i)
		publishDated(s.Writer, id, now, now, 200, events.StatusCompleted)
		all = append(all, id)
	}
	if err := s.Writer.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	before := sqliteInt(t, path, "PRAGMA page_count")
	for _, id := range all {
		if err := s.DeleteJob(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	free, pageSize, err := s.FreePages(ctx)
	if err != nil || free < before/2 {
		t.Fatalf("free pages after deleting every job: %d of %d (%v)", free, before, err)
	}
	n, _, err := s.IncrementalVacuum(ctx, 100)
	if err != nil || n != 100 {
		t.Fatalf("vacuum of 100 pages freed %d (%v)", n, err)
	}
	for {
		n, _, err := s.IncrementalVacuum(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	after := sqliteInt(t, path, "PRAGMA page_count")
	if left, _, _ := s.FreePages(ctx); left != 0 || after > before-free+1 {
		t.Errorf("after vacuum: %d pages (was %d, %d free), %d free left", after, before, free, left)
	}
	t.Logf("deleted 300 jobs: %d of %d pages (%d bytes each) free; %d pages after the vacuum", free, before, pageSize, after)
}

func TestAnOldDatabaseIsConvertedToIncrementalVacuumOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, store.FileName)
	s := open(t, dir)
	now := time.Now()
	id := jobID(now, 1)
	publishDated(s.Writer, id, now, now, 10, events.StatusCompleted)
	s.Close()
	// As a database made before auto_vacuum was set.
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"PRAGMA auto_vacuum = NONE", "VACUUM"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	db.Close()
	if mode := sqliteInt(t, path, "PRAGMA auto_vacuum"); mode != 0 {
		t.Fatalf("auto_vacuum %d, want 0", mode)
	}

	s = open(t, dir)
	if js, err := s.GetJob(ctx, id); err != nil || js.Status != events.StatusCompleted {
		t.Fatalf("job after conversion: %v %+v", err, js)
	}
	s.Close()
	if mode := sqliteInt(t, path, "PRAGMA auto_vacuum"); mode != 2 {
		t.Fatalf("auto_vacuum after open: %d, want 2", mode)
	}
	if ok := sqliteString(t, path, "PRAGMA integrity_check"); ok != "ok" {
		t.Fatalf("integrity_check: %s", ok)
	}
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("WAL left after close: %v", err)
	}
}

func sqliteString(t *testing.T, path, query string) string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var s string
	if err := db.QueryRow(query).Scan(&s); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return s
}
