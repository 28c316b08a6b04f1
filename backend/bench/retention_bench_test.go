package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/servertest"
	"github.com/switchyard/switchyard/backend/store"
)

// retentionSeed is how many old finished jobs retention deletes in
// BenchmarkRetentionUnderLoad.
const retentionSeed = 50_000

// seedOldJobs writes n finished jobs of the chain's shape (38 events:
// 12 activations of start, emit and end) that ended 30 days ago, straight
// to the event log.
func seedOldJobs(b *testing.B, st *store.Store, n int) {
	old := time.Now().Add(-30 * 24 * time.Hour)
	for i := 0; i < n; i++ {
		created := old.Add(time.Duration(i) * time.Millisecond)
		id := fmt.Sprintf("job_%012x%08x", created.UnixMilli(), i)
		seq := int64(0)
		pub := func(ev *events.Event) {
			seq++
			ev.Seq, ev.JobID, ev.FlowID, ev.Time = seq, id, "chain", created
			st.Writer.Publish(ev)
		}
		js := &events.JobState{JobID: id, FlowID: "chain", FlowVersion: 1, Status: events.StatusRunning, CreatedAt: created,
			StartedAt: &created, Params: map[string]any{"value": float64(i)}}
		pub(&events.Event{Type: events.JobStarted, Job: js})
		for a := int64(1); a <= 12; a++ {
			routine := fmt.Sprintf("t%d", a)
			pub(&events.Event{Type: events.RoutineStarted, RoutineID: routine, ActivationID: a, ParentID: a - 1, Slot: "input",
				Data: map[string]any{"value": float64(i) + float64(a)}})
			pub(&events.Event{Type: events.EventEmit, RoutineID: routine, ActivationID: a, Event: "output",
				Data: map[string]any{"value": float64(i) + float64(a) + 1}, Targets: 1})
			pub(&events.Event{Type: events.RoutineCompleted, RoutineID: routine, ActivationID: a, Duration: 0.00001, Emitted: 1})
		}
		end := *js
		end.Status, end.CompletedAt, end.Result, end.Events = events.StatusCompleted, &created, float64(i+12), seq+1
		pub(&events.Event{Type: events.JobCompleted, Job: &end})
		if i%1000 == 999 {
			if err := st.Writer.Sync(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := st.Writer.Sync(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// batchTimes records the event writer's write transactions.
type batchTimes struct {
	mu    sync.Mutex
	times []time.Duration
}

func (t *batchTimes) observe(_ int, took time.Duration) {
	t.mu.Lock()
	t.times = append(t.times, took)
	t.mu.Unlock()
}

// take returns the times recorded since the last take, sorted.
func (t *batchTimes) take() []time.Duration {
	t.mu.Lock()
	out := t.times
	t.times = nil
	t.mu.Unlock()
	slices.Sort(out)
	return out
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// chainLoad keeps 100 chain jobs in flight until stop is closed and
// returns how many ended.
func chainLoad(b *testing.B, eng *engine.Engine, stop <-chan struct{}) int64 {
	f := chainFlow(b)
	var done atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 100; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				js, err := eng.Start(engine.StartRequest{Flow: f, Params: map[string]any{"value": float64(i)}})
				if err != nil {
					b.Error(err)
					return
				}
				<-eng.Done(js.JobID)
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return done.Load()
}

type phase struct {
	name    string
	jobs    int64
	elapsed time.Duration
	batches []time.Duration
}

func (p phase) log(b *testing.B) {
	b.Logf("%-28s %7d jobs in %6.2f s = %6.0f jobs/s; %5d write transactions: p50 %6.2f ms, p99 %6.2f ms, max %7.2f ms",
		p.name, p.jobs, p.elapsed.Seconds(), float64(p.jobs)/p.elapsed.Seconds(), len(p.batches),
		ms(quantile(p.batches, 0.5)), ms(quantile(p.batches, 0.99)), ms(quantile(p.batches, 1)))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// BenchmarkRetentionUnderLoad measures what deleting 50,000 old finished
// jobs costs the event log's writer: the chain (100 jobs in flight) runs
// for 10 s on a server with those jobs and no retention, then on the same
// data while a retention pass deletes them (the chain runs until the pass
// ends). It logs jobs/s and the writer's transaction times of both
// phases, and what the pass did. Run it alone:
//
//	go test -trimpath -run '^$' -bench RetentionUnderLoad -benchtime 1x -v ./backend/bench/
func BenchmarkRetentionUnderLoad(b *testing.B) {
	dir := b.TempDir()
	db := filepath.Join(dir, store.FileName)
	times := &batchTimes{}

	in := servertest.Start(b, server.Config{DataDir: dir})
	start := time.Now()
	seedOldJobs(b, in.Server.Store, retentionSeed)
	b.Logf("seeded %d jobs of 38 events in %v: database %.1f MB", retentionSeed, time.Since(start).Round(time.Millisecond), float64(fileSize(db))/1e6)
	in.Server.Store.Writer.ObserveBatches(times.observe)
	times.take()
	stop := make(chan struct{})
	time.AfterFunc(10*time.Second, func() { close(stop) })
	start = time.Now()
	n := chainLoad(b, in.Server.Engine, stop)
	base := phase{name: "chain, no retention", jobs: n, elapsed: time.Since(start), batches: times.take()}
	in.Stop()

	in = servertest.Start(b, server.Config{DataDir: dir, Retention: store.RetentionPolicy{MaxAge: 24 * time.Hour}})
	in.Server.Store.Writer.ObserveBatches(times.observe)
	before := fileSize(db)
	stop = make(chan struct{})
	var res server.RetentionResult
	var resErr error
	go func() {
		defer close(stop)
		res, resErr = in.Server.ApplyRetention(context.Background())
	}()
	start = time.Now()
	n = chainLoad(b, in.Server.Engine, stop)
	during := phase{name: "chain, retention deleting", jobs: n, elapsed: time.Since(start), batches: times.take()}
	if resErr != nil {
		b.Fatal(resErr)
	}
	if res.Jobs != retentionSeed {
		b.Errorf("retention deleted %d jobs, want %d", res.Jobs, retentionSeed)
	}
	base.log(b)
	during.log(b)
	b.Logf("retention: %d jobs, %d rows in %d batches, %v (%.0f jobs/s); write lock held %v deleting, %v vacuuming, longest transaction %.2f ms; %.1f MB given back; database %.1f MB -> %.1f MB",
		res.Jobs, res.Rows, res.Batches, res.Took.Round(time.Millisecond), float64(res.Jobs)/res.Took.Seconds(),
		res.DeleteTime.Round(time.Millisecond), res.VacuumTime.Round(time.Millisecond), ms(res.LongestStep),
		float64(int64(res.FreedPages)*4096)/1e6, float64(before)/1e6, float64(fileSize(db))/1e6)
	b.ReportMetric(float64(base.jobs)/base.elapsed.Seconds(), "base-jobs/s")
	b.ReportMetric(float64(during.jobs)/during.elapsed.Seconds(), "during-jobs/s")
	b.ReportMetric(ms(quantile(base.batches, 0.99)), "base-p99-ms")
	b.ReportMetric(ms(quantile(during.batches, 0.99)), "during-p99-ms")
	b.ReportMetric(ms(quantile(during.batches, 1)), "during-max-ms")
	b.ReportMetric(res.Took.Seconds(), "retention-s")
	b.ReportMetric(0, "ns/op")
}
