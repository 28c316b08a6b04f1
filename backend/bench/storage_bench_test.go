package bench

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	switchyard "github.com/switchyard/switchyard"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/store"
)

// BenchmarkDatabaseSize runs b.N jobs of the chain with every event stored
// and reports the database's size, once closed (its WAL checkpointed), per
// 10,000 jobs.
func BenchmarkDatabaseSize(b *testing.B) {
	r := newRig(b)
	for i := 0; i < b.N; i++ {
		<-r.run(b, i)
	}
	if err := r.st.Writer.Sync(context.Background()); err != nil {
		b.Fatal(err)
	}
	dir := r.dir
	if err := r.st.Close(); err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, name := range []string{store.FileName, store.FileName + "-wal"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil {
			size += st.Size()
		}
	}
	b.ReportMetric(float64(size)/(1<<20)*10_000/float64(b.N), "MB/10k-jobs")
	b.ReportMetric(0, "ns/op")
}

// storedJobs writes n finished jobs (their start and end events, as the
// engine publishes them) into a database in dir.
func storedJobs(b *testing.B, dir string, n int) {
	migrations, _ := fs.Sub(switchyard.Migrations, "migrations")
	st, err := store.Open(context.Background(), dir, migrations, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("job_bench%08d", i)
		js := &events.JobState{JobID: id, FlowID: "chain", FlowVersion: 1, Status: events.StatusRunning, EntryRoutineID: "start",
			CreatedAt: now, StartedAt: &now}
		st.Writer.Publish(&events.Event{Seq: 1, Type: events.JobStarted, JobID: id, FlowID: "chain", Time: now, Job: js})
		end := *js
		end.Status, end.CompletedAt, end.Events = events.StatusCompleted, &now, 2
		st.Writer.Publish(&events.Event{Seq: 2, Type: events.JobCompleted, JobID: id, FlowID: "chain", Time: now, Job: &end})
		if i%10_000 == 0 {
			if err := st.Writer.Sync(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkStartWith100kJobs is the time from starting the server on a
// database of 100,000 finished jobs to serving: open, migrate, recover,
// build every part.
func BenchmarkStartWith100kJobs(b *testing.B) {
	dir := b.TempDir()
	storedJobs(b, dir, 100_000)
	quiet := slog.New(slog.DiscardHandler)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		srv, err := server.New(context.Background(), server.Config{Addr: "127.0.0.1:0", DataDir: dir, Logger: quiet, Version: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if err := srv.ContinueJobs(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := srv.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/start")
	b.ReportMetric(0, "ns/op")
}
