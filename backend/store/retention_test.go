package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/store"
)

func ids(jobs []store.ExpiredJob) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

func TestExpiredJobsByAgeAndCount(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	defer s.Close()
	now := time.Now()
	day := 24 * time.Hour
	old := []string{
		jobID(now.Add(-10*day), 1), // completed 9 days ago
		jobID(now.Add(-9*day), 2),  // failed 8 days ago
		jobID(now.Add(-8*day), 3),  // cancelled 7 days ago
	}
	publishDated(s.Writer, old[0], now.Add(-10*day), now.Add(-9*day), 2, events.StatusCompleted)
	publishDated(s.Writer, old[1], now.Add(-9*day), now.Add(-8*day), 2, events.StatusFailed)
	publishDated(s.Writer, old[2], now.Add(-8*day), now.Add(-7*day), 2, events.StatusCancelled)
	running := jobID(now.Add(-20*day), 4) // still running after 20 days: never deleted
	publishDated(s.Writer, running, now.Add(-20*day), time.Time{}, 2, "")
	lateEnd := jobID(now.Add(-6*day), 5) // created 6 days ago, ended an hour ago
	publishDated(s.Writer, lateEnd, now.Add(-6*day), now.Add(-time.Hour), 2, events.StatusCompleted)
	var recent []string
	for i := 0; i < 4; i++ {
		id := jobID(now.Add(-time.Duration(4-i)*time.Minute), 10+i)
		recent = append(recent, id)
		publishDated(s.Writer, id, now.Add(-time.Duration(4-i)*time.Minute), now, 2, events.StatusCompleted)
	}
	if err := s.Writer.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	if got, err := s.ExpiredJobs(ctx, store.RetentionPolicy{}, now, 100, 1000); err != nil || len(got) != 0 {
		t.Fatalf("no policy: %v %v", got, err)
	}
	// Age: the three that ended more than 5 days ago, oldest first; not
	// the running one, nor the one that ended lately.
	got, err := s.ExpiredJobs(ctx, store.RetentionPolicy{MaxAge: 5 * day}, now, 100, 1000)
	if err != nil || !slices.Equal(ids(got), old) {
		t.Fatalf("by age: %v %v, want %v", ids(got), err, old)
	}
	if got[0].Events != 4 {
		t.Errorf("events of %s: %d, want 4", got[0].ID, got[0].Events)
	}
	// The batch bounds: jobs, and events (at least one job however big).
	if got, _ := s.ExpiredJobs(ctx, store.RetentionPolicy{MaxAge: 5 * day}, now, 2, 1000); !slices.Equal(ids(got), old[:2]) {
		t.Errorf("at most 2: %v", ids(got))
	}
	if got, _ := s.ExpiredJobs(ctx, store.RetentionPolicy{MaxAge: 5 * day}, now, 100, 9); !slices.Equal(ids(got), old[:2]) {
		t.Errorf("at most 9 events: %v", ids(got))
	}
	if got, _ := s.ExpiredJobs(ctx, store.RetentionPolicy{MaxAge: 5 * day}, now, 100, 1); !slices.Equal(ids(got), old[:1]) {
		t.Errorf("at most 1 event still gives one job: %v", ids(got))
	}
	// Count: 8 finished, keep 3: the 5 oldest finished go (the running
	// one stays whatever its age).
	want := append(slices.Clone(old), lateEnd, recent[0])
	if got, err := s.ExpiredJobs(ctx, store.RetentionPolicy{MaxJobs: 3}, now, 100, 1000); err != nil || !slices.Equal(ids(got), want) {
		t.Fatalf("by count: %v %v, want %v", ids(got), err, want)
	}
	// Both: those past the age first.
	if got, _ := s.ExpiredJobs(ctx, store.RetentionPolicy{MaxAge: 5 * day, MaxJobs: 3}, now, 100, 1000); !slices.Equal(ids(got), old) {
		t.Errorf("age first: %v", ids(got))
	}

	d, err := s.DeleteJobs(ctx, got, store.DeleteOptions{PartRows: 1000})
	if err != nil || d.Jobs != 3 {
		t.Fatalf("delete: %+v %v", d, err)
	}
	rest, _ := s.ExpiredJobs(ctx, store.RetentionPolicy{MaxAge: 5 * day, MaxJobs: 3}, now, 100, 1000)
	if !slices.Equal(ids(rest), []string{lateEnd, recent[0]}) {
		t.Errorf("then the count: %v", ids(rest))
	}
	if _, err := s.GetJob(ctx, running); err != nil {
		t.Errorf("the running job: %v", err)
	}
	// Deleting again skips what is gone.
	if d, err := s.DeleteJobs(ctx, rest[:1], store.DeleteOptions{PartRows: 1000}); err != nil || d.Jobs != 1 {
		t.Fatalf("delete: %+v %v", d, err)
	}
	if d, err := s.DeleteJobs(ctx, rest[:1], store.DeleteOptions{PartRows: 1000}); err != nil || d.Jobs != 0 || d.Rows != 0 {
		t.Fatalf("delete again: %+v %v", d, err)
	}
}

func TestDeleteJobsDeletesABigJobInParts(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	defer s.Close()
	now := time.Now()
	big, small := jobID(now, 1), jobID(now, 2)
	// Written in many batches, so the big job has many chunks.
	state := &events.JobState{JobID: big, FlowID: "f", FlowVersion: 1, Status: events.StatusRunning, CreatedAt: now, StartedAt: &now}
	for seq := int64(1); seq <= 3002; seq++ {
		ev := &events.Event{Seq: seq, JobID: big, FlowID: "f", Time: now, Type: events.Log, RoutineID: "a", Level: "info", Message: "step"}
		switch seq {
		case 1:
			ev = &events.Event{Seq: seq, JobID: big, FlowID: "f", Time: now, Type: events.JobStarted, Job: state}
		case 3002:
			end := *state
			end.Status, end.CompletedAt, end.Events = events.StatusCompleted, &now, 3002
			ev = &events.Event{Seq: seq, JobID: big, FlowID: "f", Time: now, Type: events.JobCompleted, Job: &end}
		}
		s.Writer.Publish(ev)
		if seq%150 == 0 {
			if err := s.Writer.Sync(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	publishDated(s.Writer, small, now, now, 3, events.StatusCompleted)
	bp := store.Breakpoint{ID: "bp_1", Scope: store.ScopeJob, ScopeID: big, Type: "routine", RoutineID: "a", Enabled: true, CreatedAt: now}
	if err := s.PutBreakpoints(ctx, []store.Breakpoint{bp}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCheckpoints(ctx, big, 1, []store.Checkpoint{{Seq: 10, Body: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Writer.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.ExpiredJobs(ctx, store.RetentionPolicy{MaxJobs: 1}, now, 100, 10)
	if err != nil || !slices.Equal(ids(jobs), []string{big}) {
		t.Fatalf("expired: %v %v", ids(jobs), err)
	}
	d, err := s.DeleteJobs(ctx, jobs, store.DeleteOptions{PartRows: 100, VacuumPages: 100000})
	if err != nil {
		t.Fatal(err)
	}
	// 3000 log lines and their chunks, the job, its breakpoint and checkpoint.
	if d.Jobs != 1 || d.Rows < 3000+1+1+1 || d.FreedPages == 0 {
		t.Errorf("deleted %+v", d)
	}
	if _, err := s.GetJob(ctx, big); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("big job: %v", err)
	}
	if evs, _ := s.Events(ctx, big, 0, 10); len(evs) != 0 {
		t.Errorf("%d events left", len(evs))
	}
	if _, n, _ := s.Logs(ctx, big, store.LogFilter{Limit: 10}); n != 0 {
		t.Errorf("%d log lines left", n)
	}
	if bps, _ := s.Breakpoints(ctx, store.ScopeJob, big); len(bps) != 0 {
		t.Errorf("breakpoints left: %+v", bps)
	}
	if _, found, _ := s.LoadCheckpoint(ctx, big, 1, 10); found {
		t.Error("checkpoint left")
	}
	if evs, _ := s.Events(ctx, small, 0, 100); len(evs) != 5 {
		t.Errorf("the other job has %d events, want 5", len(evs))
	}
}
