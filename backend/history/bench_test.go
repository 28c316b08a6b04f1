package history_test

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"path/filepath"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/switchyard/switchyard/backend/history"
)

// BenchmarkStateAt100k reads the state of a finished job of ~100,000
// events (a split of 16,666 items, real engine, real SQLite) at random seqs:
//
//	go test -trimpath -run '^$' -bench StateAt100k -benchtime 20x ./backend/history/
//
// cold-first: a new service and no stored checkpoints, so the whole log is
// folded (the first query of a job ever); first-and-store: the same on a
// job never queried, with the server's options, so its checkpoints are
// also stored (each op runs a new job first, off the clock); cold-stored:
// a new service over the stored checkpoints (after a restart, or once the
// job left the cache); warm: the same service, its checkpoints in memory;
// latest-warm: the state after the last event, warm. baseline-decode is
// not a query: it is the cost of decoding the whole log with store.Events
// (encoding/json), which a fold through it would pay first.
func BenchmarkStateAt100k(b *testing.B) {
	r := newRig(b)
	f := r.flow(bigFlow(16666))
	id := r.run(f, map[string]any{})
	ctx := context.Background()
	last, err := r.st.LastEventSeq(ctx, id)
	if err != nil || last < 100000 {
		b.Fatalf("job has %d events (%v)", last, err)
	}
	chunks := chunkCount(b, r, id)
	rng := rand.New(rand.NewPCG(1, 2))
	query := func(b *testing.B, s *history.Service) {
		at := 1 + rng.Int64N(last)
		st, err := s.StateAt(ctx, id, at)
		if err != nil || st.At != at {
			b.Fatalf("state at %d: %v", at, err)
		}
	}
	b.Run("baseline-decode", func(b *testing.B) {
		for b.Loop() {
			if evs, err := r.st.Events(ctx, id, 0, 1<<30); err != nil || int64(len(evs)) != last {
				b.Fatal(err)
			}
		}
	})
	b.Run("cold-first", func(b *testing.B) {
		defer b.ReportMetric(chunks, "chunks")
		for b.Loop() {
			query(b, r.service(history.Options{NoPersist: true}))
		}
	})
	b.Run("first-and-store", func(b *testing.B) {
		defer b.ReportMetric(chunks, "chunks")
		for b.Loop() {
			b.StopTimer()
			fresh := r.run(f, map[string]any{})
			b.StartTimer()
			if _, err := r.service(history.Options{}).StateAt(ctx, fresh, last/2); err != nil {
				b.Fatal(err)
			}
		}
	})
	if _, _, err := r.service(history.Options{}).Activations(ctx, id, history.ActivationQuery{Limit: 1}); err != nil {
		b.Fatal(err) // folds the job whole once, which stores its checkpoints
	}
	b.Run("cold-stored", func(b *testing.B) {
		defer b.ReportMetric(chunks, "chunks")
		for b.Loop() {
			query(b, r.service(history.Options{}))
		}
	})
	b.Run("warm", func(b *testing.B) {
		defer b.ReportMetric(chunks, "chunks")
		s := r.service(history.Options{NoPersist: true})
		query(b, s)
		b.ResetTimer()
		for b.Loop() {
			query(b, s)
		}
	})
	b.Run("latest-warm", func(b *testing.B) {
		s := r.service(history.Options{})
		if _, _, err := s.Activations(ctx, id, history.ActivationQuery{}); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for b.Loop() {
			if _, err := s.State(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkActivations100k reads activations of the same kind of job, its
// index in memory: a page of 100 at a random offset; one item's call stack
// (item → split → start); the split activation itself, whose 16,666 emits
// with their data are read back from the whole log.
//
//	go test -trimpath -run '^$' -bench Activations100k -benchtime 20x ./backend/history/
func BenchmarkActivations100k(b *testing.B) {
	r := newRig(b)
	id := r.run(r.flow(bigFlow(16666)), map[string]any{})
	ctx := context.Background()
	s := r.service(history.Options{})
	_, total, err := s.Activations(ctx, id, history.ActivationQuery{Limit: 1})
	if err != nil || total < 33000 {
		b.Fatalf("%d activations (%v)", total, err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	chunks := chunkCount(b, r, id)
	b.Run("page", func(b *testing.B) {
		defer b.ReportMetric(chunks, "chunks")
		for b.Loop() {
			list, _, err := s.Activations(ctx, id, history.ActivationQuery{Limit: 100, Offset: rng.IntN(total - 100)})
			if err != nil || len(list) != 100 {
				b.Fatal(err)
			}
		}
	})
	b.Run("call-stack", func(b *testing.B) {
		defer b.ReportMetric(chunks, "chunks")
		for b.Loop() {
			stack, err := s.CallStack(ctx, id, 3+rng.Int64N(int64(total-3)), 0)
			if err != nil || len(stack) < 3 {
				b.Fatal(err)
			}
		}
	})
	b.Run("split-16666-emits", func(b *testing.B) {
		defer b.ReportMetric(chunks, "chunks")
		for b.Loop() {
			a, err := s.Activation(ctx, id, 2)
			if err != nil || len(a.Emitted) != 16666 {
				b.Fatal(err)
			}
		}
	})
}

// chunkCount is the number of stored chunks of the job's log: a query
// decompresses whole chunks, and their size depends on how the writer
// batched the run, so it explains most of the spread between runs.
func chunkCount(b *testing.B, r *rig, id string) float64 {
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(r.dir, "switchyard.db")+"?mode=ro")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM event_chunks WHERE job_id = ?`, id).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return float64(n)
}
