package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	_ "github.com/mattn/go-sqlite3"

	switchyard "github.com/switchyard/switchyard"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/flow"
	"github.com/switchyard/switchyard/backend/store"
)

func open(t *testing.T, dir string) *store.Store {
	t.Helper()
	migrations, err := fs.Sub(switchyard.Migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), dir, migrations, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sampleFlow(id, name string) *flow.Flow {
	return &flow.Flow{ID: id, Name: name, Routines: map[string]flow.RoutineSpec{"start": {Kind: "input"}}, Connections: []flow.Connection{}}
}

func TestFlowVersionsSurviveUpdateDeleteAndRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	v1, err := s.CreateFlow(ctx, sampleFlow("orders", "first"))
	if err != nil || v1.Version != 1 {
		t.Fatalf("create: %v %+v", err, v1)
	}
	if _, err := s.CreateFlow(ctx, sampleFlow("orders", "dup")); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	v2, err := s.UpdateFlow(ctx, sampleFlow("orders", "second"))
	if err != nil || v2.Version != 2 {
		t.Fatalf("update: %v %+v", err, v2)
	}
	if _, err := s.UpdateFlow(ctx, sampleFlow("ghost", "x")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}
	s.Close()

	s = open(t, dir)
	defer s.Close()
	cur, err := s.GetFlow(ctx, "orders", 0)
	if err != nil || cur.Name != "second" || cur.Version != 2 {
		t.Fatalf("current after restart: %v %+v", err, cur)
	}
	old, err := s.GetFlow(ctx, "orders", 1)
	if err != nil || old.Name != "first" {
		t.Fatalf("version 1: %v %+v", err, old)
	}
	list, total, err := s.ListFlows(ctx, 10, 0)
	if err != nil || total != 1 || list[0].RoutineCount != 1 || list[0].Version != 2 {
		t.Fatalf("list: %v %d %+v", err, total, list)
	}
	if err := s.DeleteFlow(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetFlow(ctx, "orders", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if _, err := s.GetFlow(ctx, "orders", 1); err != nil {
		t.Fatalf("a deleted flow's versions stay readable for its jobs: %v", err)
	}
	again, err := s.CreateFlow(ctx, sampleFlow("orders", "reborn"))
	if err != nil || again.Version != 3 {
		t.Fatalf("re-create continues versions: %v %+v", err, again)
	}
	// The cached current version follows every write.
	for want := 3; want <= 5; want++ {
		cur, err := s.GetFlow(ctx, "orders", 0)
		if err != nil || cur.Version != want || cur.Name != fmt.Sprint("v", want) && want > 3 {
			t.Fatalf("current: %v %+v, want version %d", err, cur, want)
		}
		if _, err := s.UpdateFlow(ctx, sampleFlow("orders", fmt.Sprint("v", want+1))); err != nil {
			t.Fatal(err)
		}
	}
}

// publishJob writes a small job's log through the writer.
func publishJob(w *store.Writer, id string, n int, final string) {
	now := time.Now()
	state := &events.JobState{JobID: id, FlowID: "f", FlowVersion: 1, Status: events.StatusRunning, CreatedAt: now, StartedAt: &now,
		Params: map[string]any{"v": 1.0}, RoutineStates: map[string]*events.RoutineState{"a": {Status: events.StatePending}}}
	seq := int64(0)
	pub := func(ev *events.Event) {
		seq++
		ev.Seq, ev.JobID, ev.FlowID, ev.Time = seq, id, "f", time.Now()
		w.Publish(ev)
	}
	pub(&events.Event{Type: events.JobStarted, Job: state})
	for i := 0; i < n; i++ {
		pub(&events.Event{Type: events.RoutineStarted, RoutineID: "a", ActivationID: int64(i + 1), Data: map[string]any{"i": float64(i)}})
		pub(&events.Event{Type: events.Log, RoutineID: "a", Level: "debug", Message: "step done"})
	}
	pub(&events.Event{Type: events.Log, RoutineID: "b", Level: "warning", Message: "Disk 100% full_ish"})
	if final != "" {
		end := *state
		done := time.Now()
		end.Status, end.Result, end.CompletedAt, end.Duration, end.Events = final, "ok", &done, 0.25, seq+1
		pub(&events.Event{Type: map[string]string{events.StatusCompleted: events.JobCompleted, events.StatusFailed: events.JobFailed}[final], Job: &end, Duration: 0.25})
	}
}

func TestWriterStoresEventsJobsAndLogs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	publishJob(s.Writer, "job_1", 500, events.StatusCompleted)
	publishJob(s.Writer, "job_2", 3, "") // still running when the process "dies"
	if err := s.Writer.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Writer.Backlog() != 0 {
		t.Fatalf("backlog %d after sync", s.Writer.Backlog())
	}
	evs, err := s.Events(ctx, "job_1", 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1+1000+1+1 {
		t.Fatalf("stored %d events", len(evs))
	}
	for i, ev := range evs {
		if ev.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, ev.Seq)
		}
	}
	tail, _ := s.Events(ctx, "job_1", 1000, 2)
	if len(tail) != 2 || tail[0].Seq != 1001 || tail[1].Seq != 1002 {
		t.Fatalf("since/limit: %+v", tail)
	}
	js, err := s.GetJob(ctx, "job_1")
	if err != nil || js.Status != events.StatusCompleted || js.Result != "ok" || js.RoutineStates["a"] == nil {
		t.Fatalf("job: %v %+v", err, js)
	}

	logs, total, err := s.Logs(ctx, "job_1", store.LogFilter{MinLevel: store.LevelRank("warning"), Limit: 10})
	if err != nil || total != 1 || logs[0].RoutineID != "b" {
		t.Fatalf("warning logs: %v %d %+v", err, total, logs)
	}
	// LIKE wildcards in q are literal.
	if _, n, _ := s.Logs(ctx, "job_1", store.LogFilter{Query: "100% full_", Limit: 10}); n != 1 {
		t.Fatalf("q with wildcards matched %d", n)
	}
	if _, n, _ := s.Logs(ctx, "job_1", store.LogFilter{Query: "1_0", Limit: 10}); n != 0 {
		t.Fatalf("underscore must not be a wildcard, matched %d", n)
	}
	page, n, _ := s.Logs(ctx, "job_1", store.LogFilter{RoutineID: "a", Limit: 5, Offset: 10})
	if n != 500 || len(page) != 5 || page[0].Seq <= 0 {
		t.Fatalf("paging: %d %+v", n, page)
	}
	s.Close()

	// Restart: everything is there, and the job that was running is failed.
	s = open(t, dir)
	defer s.Close()
	if active, err := s.ActiveJobs(ctx); err != nil || len(active) != 1 || active[0].JobID != "job_2" {
		t.Fatalf("active after restart: %v %+v", err, active)
	}
	list, total, err := s.ListJobs(ctx, store.JobFilter{Status: events.StatusCompleted, Limit: 10})
	if err != nil || total != 1 || list[0].JobID != "job_1" {
		t.Fatalf("list: %v %d", err, total)
	}
	if _, err := s.GetJob(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown job: %v", err)
	}
}

func TestMigrationsApplyOnce(t *testing.T) {
	dir := t.TempDir()
	open(t, dir).Close()
	s := open(t, dir) // second open must not re-run 0001 (it would fail on CREATE TABLE)
	s.Close()
}

// A database made before migration 0007 (jobs and logs become WITHOUT
// ROWID tables, event chunks a rowid table) keeps every job, event and log
// line through it.
func TestMigration0007KeepsWhatWasStored(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	all, err := fs.Sub(switchyard.Migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	before := fstest.MapFS{}
	names, _ := fs.Glob(all, "*.sql")
	for _, name := range names {
		if name >= "0007" {
			continue
		}
		body, _ := fs.ReadFile(all, name)
		before[name] = &fstest.MapFile{Data: body}
	}
	old, err := store.Open(ctx, dir, before, nil)
	if err != nil {
		t.Fatal(err)
	}
	publishJob(old.Writer, "job_long", 600, events.StatusCompleted) // 1,203 events: routine states stored
	publishJob(old.Writer, "job_short", 5, events.StatusFailed)
	if err := old.Writer.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	old.Close()
	// Lines such a database stored for every job, now derived (0008).
	raw, err := sql.Open("sqlite3", filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO logs (job_id, seq, time, level, routine_id, message) VALUES
		('job_long', 1, 0, 1, '', 'job started (flow f)'), ('job_long', 1203, 0, 1, '', 'job completed in 0.250s'),
		('job_short', 1, 0, 1, '', 'job started (flow f)')`); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	s := open(t, dir)
	defer s.Close()
	for id, n := range map[string]int{"job_long": 600, "job_short": 5} {
		evs, err := s.Events(ctx, id, 0, 100000)
		if err != nil || len(evs) != 2*n+3 || evs[len(evs)-1].Seq != int64(2*n+3) {
			t.Fatalf("%s: %d events, %v", id, len(evs), err)
		}
		if _, total, err := s.Logs(ctx, id, store.LogFilter{Limit: 10}); err != nil || total < n {
			t.Fatalf("%s: %d log lines, %v", id, total, err)
		}
		if started, total, err := s.Logs(ctx, id, store.LogFilter{Limit: 10, Query: "job started"}); err != nil || total != 1 || started[0].Seq != 1 {
			t.Fatalf("%s: the start's line %d times: %+v %v", id, total, started, err)
		}
	}
	if js, err := s.GetJob(ctx, "job_long"); err != nil || js.Status != events.StatusCompleted || js.RoutineStates["a"] == nil {
		t.Fatalf("job_long: %v %+v", err, js)
	}
	if list, total, err := s.ListJobs(ctx, store.JobFilter{Status: events.StatusFailed, Limit: 10}); err != nil || total != 1 || list[0].JobID != "job_short" {
		t.Fatalf("failed jobs: %v %d %+v", err, total, list)
	}
	// And it goes on storing.
	publishJob(s.Writer, "job_after", 3, events.StatusCompleted)
	if err := s.Writer.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if evs, err := s.Events(ctx, "job_after", 0, 100); err != nil || len(evs) != 9 {
		t.Fatalf("job_after: %d events, %v", len(evs), err)
	}
}

// A job's start and completion are not stored as log lines but derived
// from its record, in their place among the stored ones: paging, counts
// and filters treat them alike.
func TestLogsDeriveTheJobsStartAndCompletion(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	publishJob(s.Writer, "job_1", 3, events.StatusCompleted) // seq 1 started, 3, 5, 7 debug, 8 warning, 9 completed
	if err := s.Writer.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	seqs := func(lines []store.LogLine) []int64 {
		out := []int64{}
		for _, l := range lines {
			out = append(out, l.Seq)
		}
		return out
	}
	for _, tc := range []struct {
		f     store.LogFilter
		want  []int64
		total int
	}{
		{store.LogFilter{Limit: 100}, []int64{1, 3, 5, 7, 8, 9}, 6},
		{store.LogFilter{Limit: 2}, []int64{1, 3}, 6},
		{store.LogFilter{Limit: 2, Offset: 1}, []int64{3, 5}, 6},
		{store.LogFilter{Limit: 5, Offset: 4}, []int64{8, 9}, 6},
		{store.LogFilter{Limit: 1, Offset: 5}, []int64{9}, 6},
		{store.LogFilter{Limit: 10, Offset: 6}, []int64{}, 6},
		{store.LogFilter{Limit: 10, MinLevel: store.LevelRank("info")}, []int64{1, 8, 9}, 3},
		{store.LogFilter{Limit: 10, MinLevel: store.LevelRank("warning")}, []int64{8}, 1},
		{store.LogFilter{Limit: 10, RoutineID: "a"}, []int64{3, 5, 7}, 3},
		{store.LogFilter{Limit: 10, Query: "JOB START"}, []int64{1}, 1},
		{store.LogFilter{Limit: 10, Query: "completed in 0.250s"}, []int64{9}, 1},
	} {
		lines, total, err := s.Logs(ctx, "job_1", tc.f)
		if err != nil || total != tc.total || fmt.Sprint(seqs(lines)) != fmt.Sprint(tc.want) {
			t.Errorf("%+v: %v %d lines %v, want %d %v", tc.f, err, total, seqs(lines), tc.total, tc.want)
		}
	}
	lines, _, _ := s.Logs(ctx, "job_1", store.LogFilter{Limit: 100})
	if first, last := lines[0], lines[len(lines)-1]; first.Message != "job started (flow f)" || first.Level != "info" ||
		last.Message != "job completed in 0.250s" || last.Level != "info" || last.Time.Before(first.Time) {
		t.Fatalf("derived lines: %+v %+v", first, last)
	}
	if lines, total, err := s.Logs(ctx, "job_ghost", store.LogFilter{Limit: 10}); err != nil || total != 0 || len(lines) != 0 {
		t.Fatalf("unknown job: %v %d %+v", err, total, lines)
	}
}

func TestDeleteJobDeletesEverythingOfIt(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	publishJob(s.Writer, "job_1", 50, events.StatusCompleted)
	publishJob(s.Writer, "job_2", 5, events.StatusCompleted)
	if err := s.Writer.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	bp := store.Breakpoint{ID: "bp_1", Scope: store.ScopeJob, ScopeID: "job_1", Type: "routine", RoutineID: "a", Enabled: true, CreatedAt: time.Now()}
	if err := s.PutBreakpoints(ctx, []store.Breakpoint{bp}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCheckpoints(ctx, "job_1", 1, []store.Checkpoint{{Seq: 10, Body: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteJob(ctx, "job_1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetJob(ctx, "job_1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("job after delete: %v", err)
	}
	if evs, _ := s.Events(ctx, "job_1", 0, 100); len(evs) != 0 {
		t.Fatalf("%d events after delete", len(evs))
	}
	if logs, n, _ := s.Logs(ctx, "job_1", store.LogFilter{Limit: 10}); n != 0 || len(logs) != 0 {
		t.Fatalf("%d logs after delete", n)
	}
	if bps, _ := s.Breakpoints(ctx, store.ScopeJob, "job_1"); len(bps) != 0 {
		t.Fatalf("breakpoints after delete: %+v", bps)
	}
	if _, found, _ := s.LoadCheckpoint(ctx, "job_1", 1, 10); found {
		t.Fatal("checkpoint after delete")
	}
	if evs, _ := s.Events(ctx, "job_2", 0, 100); len(evs) == 0 {
		t.Fatal("the other job lost its events")
	}
	if err := s.DeleteJob(ctx, "job_1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestWaitBacklogWaitsForTheDisk(t *testing.T) {
	s := open(t, t.TempDir())
	publishJob(s.Writer, "job_w", 2000, events.StatusCompleted)
	// Nothing is stored yet (the writer lets a batch gather): over a bound of 100, a
	// cancelled wait says so; an uncancelled one returns once the disk caught up.
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if s.Writer.Backlog() > 100 {
		if err := s.Writer.WaitBacklog(cancelled, 100, 1<<30); err == nil {
			t.Fatalf("a cancelled wait over the bound returned nil with %d behind", s.Writer.Backlog())
		}
	}
	if err := s.Writer.WaitBacklog(context.Background(), 100, 1<<30); err != nil {
		t.Fatal(err)
	}
	if b := s.Writer.Backlog(); b > 100 {
		t.Fatalf("%d events behind after the wait", b)
	}
	if err := s.Writer.WaitBacklog(cancelled, 100, 1<<30); err != nil {
		t.Fatalf("under the bound a wait returns at once: %v", err)
	}
}

func TestJobSummaryIsKeptAsEventsAreStored(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	publishJob(s.Writer, "job_done", 500, events.StatusCompleted) // 1,003 events: a long log
	publishJob(s.Writer, "job_short", 50, events.StatusCompleted)
	publishJob(s.Writer, "job_live", 7, "")
	if err := s.Writer.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]int64{"job_done": 500, "job_live": 7} {
		sum, err := s.JobSummary(ctx, id)
		if err != nil || sum == nil {
			t.Fatalf("%s: %v %v", id, sum, err)
		}
		if sum.EventsByType[events.RoutineStarted] != want || sum.Routines["a"].Activations != want || sum.EventsByType[events.Log] != want+1 {
			t.Errorf("%s: %+v", id, sum)
		}
	}
	// The finished one is read from its record: a new process finds it.
	s.Close()
	s = open(t, dir)
	if sum, err := s.JobSummary(ctx, "job_done"); err != nil || sum == nil || sum.Seq != 500*2+3 || !sum.Whole() {
		t.Fatalf("after a restart: %+v %v", sum, err)
	}
	// A short log's record keeps neither its summary nor its routine
	// states: its log is counted (folded) instead.
	if sum, err := s.JobSummary(ctx, "job_short"); err != nil || sum != nil {
		t.Fatalf("a short log: %+v %v", sum, err)
	}
	if js, err := s.GetJob(ctx, "job_short"); err != nil || js.Status != events.StatusCompleted || len(js.RoutineStates) != 0 {
		t.Fatalf("a short log's record: %v %+v", err, js)
	}
	if js, err := s.GetJob(ctx, "job_done"); err != nil || js.RoutineStates["a"] == nil {
		t.Fatalf("a long log's record: %v %+v", err, js)
	}
	// A job whose events resume mid-log (continued after a crash) has none: its log is counted instead.
	if sum, err := s.JobSummary(ctx, "job_live"); err != nil || sum != nil {
		t.Fatalf("an active job of the last run: %+v %v", sum, err)
	}
	if _, err := s.JobSummary(ctx, "job_ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown job: %v", err)
	}
}

func TestWaitBacklogCountsWhatEventsWeigh(t *testing.T) {
	s := open(t, t.TempDir())
	now := time.Now()
	js := &events.JobState{JobID: "job_heavy", FlowID: "f", Status: events.StatusRunning, CreatedAt: now, StartedAt: &now}
	s.Writer.Publish(&events.Event{Seq: 1, Type: events.JobStarted, JobID: "job_heavy", FlowID: "f", Time: now, Job: js})
	s.Writer.Publish(&events.Event{Seq: 2, Type: events.EventEmit, JobID: "job_heavy", FlowID: "f", Time: now, RoutineID: "a",
		ActivationID: 1, Event: "output", Data: "x", Bytes: 5 << 20})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if s.Writer.Backlog() > 0 { // not stored yet: two events are few, 5 MB is heavy
		if err := s.Writer.WaitBacklog(cancelled, 100, 1<<20); err == nil {
			t.Fatal("a wait over the byte bound returned nil")
		}
	}
	if err := s.Writer.WaitBacklog(context.Background(), 100, 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := s.Writer.WaitBacklog(cancelled, 100, 1<<20); err != nil {
		t.Fatalf("once stored, the weight is gone: %v", err)
	}
}
