package bench

import (
	"context"
	"io/fs"
	"log/slog"
	"testing"
	"time"

	switchyard "github.com/switchyard/switchyard"
	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/metrics"
	"github.com/switchyard/switchyard/backend/routines"
	"github.com/switchyard/switchyard/backend/store"
)

// BenchmarkMetrics is the chain, one job after another with every event
// stored, without and with the Prometheus instrumentation (goal: within 3 %).
func BenchmarkMetrics(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := map[bool]string{false: "off", true: "on"}[on]
		b.Run(name, func(b *testing.B) {
			migrations, _ := fs.Sub(switchyard.Migrations, "migrations")
			quiet := slog.New(slog.DiscardHandler)
			st, err := store.Open(context.Background(), b.TempDir(), migrations, quiet)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			reg := engine.NewRegistry()
			routines.Register(reg)
			opts := engine.Options{Logger: quiet}
			if on {
				m := metrics.New(metrics.Sources{})
				st.Writer.ObserveBatches(m.BatchWritten)
				opts.Observer = m
			}
			r := &rig{st: st, eng: engine.New(reg, events.NewBus(st.Writer), opts), f: chainFlow(b)}
			b.ResetTimer()
			start, cpu := time.Now(), cpuTime()
			for i := 0; i < b.N; i++ {
				<-r.run(b, i)
			}
			if err := st.Writer.Sync(context.Background()); err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			r.report(b, b.N, elapsed, cpuTime()-cpu)
		})
	}
}
