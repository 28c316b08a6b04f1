// Package bench measures the engine with the full event log persisted, next
// to the raw batched-insert rate of SQLite on the same machine, in one run:
//
//	make bench
package bench

import (
	"context"
	"database/sql"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	switchyard "github.com/switchyard/switchyard"
	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/flow"
	"github.com/switchyard/switchyard/backend/routines"
	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/store"
)

// The benchmarks run with the server's garbage-collector setting, as the
// server does (GOGC in the environment overrides it).
func init() { server.TuneGC() }

// chainFlow is input → t1 … t10 (transform) → output.
func chainFlow(tb testing.TB) *flow.Flow {
	f, err := flow.Parse([]byte(ChainYAML()))
	if err != nil {
		tb.Fatal(err)
	}
	f.Version = 1
	return f
}

type rig struct {
	st  *store.Store
	eng *engine.Engine
	f   *flow.Flow
	dir string // the data directory
}

func newRig(b *testing.B) *rig {
	migrations, _ := fs.Sub(switchyard.Migrations, "migrations")
	quiet := slog.New(slog.DiscardHandler)
	dir := b.TempDir()
	st, err := store.Open(context.Background(), dir, migrations, quiet)
	if err != nil {
		b.Fatal(err)
	}
	reg := engine.NewRegistry()
	routines.Register(reg)
	eng := engine.New(reg, events.NewBus(st.Writer), engine.Options{Logger: quiet})
	return &rig{st: st, eng: eng, f: chainFlow(b), dir: dir}
}

func (r *rig) run(b *testing.B, value int) <-chan struct{} {
	js, err := r.eng.Start(engine.StartRequest{Flow: r.f, Params: map[string]any{"value": float64(value)}})
	if err != nil {
		b.Fatal(err)
	}
	return r.eng.Done(js.JobID)
}

// cpuTime is the process's user+system CPU time: on a shared machine it
// varies much less than wall time, so it shows what a change costs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report adds the rates of a run that includes storing every event.
func (r *rig) report(b *testing.B, jobs int, elapsed, cpu time.Duration) {
	b.ReportMetric(float64(cpu.Microseconds())/float64(jobs), "cpu-µs/job")
	stats := r.st.Writer.Stats()
	secs := elapsed.Seconds()
	b.ReportMetric(float64(jobs)/secs, "jobs/s")
	b.ReportMetric(float64(jobs*12)/secs, "activations/s")
	b.ReportMetric(float64(stats.Events.Load())/secs, "events/s")
	b.ReportMetric(float64(stats.Chunks.Load())/secs, "rows/s")
	b.ReportMetric(float64(stats.Events.Load())/float64(jobs), "events/job")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkChainSequential runs jobs one after another; the clock stops once
// the last event is stored.
func BenchmarkChainSequential(b *testing.B) {
	r := newRig(b)
	defer r.st.Close()
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		<-r.run(b, i)
	}
	if err := r.st.Writer.Sync(context.Background()); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	r.report(b, b.N, elapsed, cpuTime()-cpu)
}

// BenchmarkChainConcurrent keeps 100 jobs in flight.
func BenchmarkChainConcurrent(b *testing.B) {
	r := newRig(b)
	defer r.st.Close()
	const inFlight = 100
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime()
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < inFlight; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				<-r.run(b, i)
			}
		}()
	}
	for i := 0; i < b.N; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := r.st.Writer.Sync(context.Background()); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	r.report(b, b.N, elapsed, cpuTime()-cpu)
}

type discard struct{}

func (discard) Publish(*events.Event) {}

// BenchmarkChainEngineOnly is the same chain with events discarded: the
// engine's own ceiling, comparable to peers that store nothing.
func BenchmarkChainEngineOnly(b *testing.B) {
	reg := engine.NewRegistry()
	routines.Register(reg)
	eng := engine.New(reg, discard{}, engine.Options{})
	f := chainFlow(b)
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		js, err := eng.Start(engine.StartRequest{Flow: f, Params: map[string]any{"value": float64(i)}})
		if err != nil {
			b.Fatal(err)
		}
		<-eng.Done(js.JobID)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "jobs/s")
	b.ReportMetric(float64(b.N*12)/elapsed.Seconds(), "activations/s")
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/job")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkSQLiteBatchedInsert is the baseline: plain rows (~200 bytes, the
// size of one event) inserted 1,000 per transaction through one connection
// with the store's settings.
func BenchmarkSQLiteBatchedInsert(b *testing.B) {
	path := filepath.Join(b.TempDir(), "raw.db")
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000&_synchronous=NORMAL&_journal_mode=WAL&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE rows (job_id TEXT NOT NULL, seq INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (job_id, seq)) WITHOUT ROWID`); err != nil {
		b.Fatal(err)
	}
	body := []byte(strings.Repeat("x", 200))
	const batch, perStmt = 1000, 200
	stmt := "INSERT INTO rows (job_id, seq, body) VALUES " + strings.TrimSuffix(strings.Repeat("(?,?,?),", perStmt), ",")
	b.ResetTimer()
	start := time.Now()
	rows := 0
	for rows < b.N {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < batch; i += perStmt {
			args := make([]any, 0, perStmt*3)
			for k := 0; k < perStmt; k++ {
				args = append(args, "job", rows, body)
				rows++
			}
			if _, err := tx.Exec(stmt, args...); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(0, "ns/op")
}
