package history_test

import (
	"context"
	"io/fs"
	"log/slog"
	"sync"
	"testing"

	switchyard "github.com/switchyard/switchyard"
	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/flow"
	"github.com/switchyard/switchyard/backend/history"
	"github.com/switchyard/switchyard/backend/routines"
	"github.com/switchyard/switchyard/backend/store"
)

// rig is a real engine writing its log to a real SQLite store in a
// temporary directory, as the server wires them.
type rig struct {
	tb    testing.TB
	dir   string
	st    *store.Store
	bus   *events.Bus
	eng   *engine.Engine
	hooks engine.Hooks
	kinds []engine.Kind // registered besides the built-in ones
	// started are the jobs this rig started, by id, to wait for their end.
	started *sync.Map
}

func newRig(tb testing.TB) *rig {
	return newRigWith(tb, nil)
}

// newRigWith builds a rig whose engine calls hooks (may be nil).
func newRigWith(tb testing.TB, hooks engine.Hooks, kinds ...engine.Kind) *rig {
	tb.Helper()
	r := &rig{tb: tb, dir: tb.TempDir(), hooks: hooks, kinds: kinds, started: &sync.Map{}}
	r.open()
	tb.Cleanup(func() { r.close() })
	return r
}

// with returns r reporting to tb (a subtest).
func (r *rig) with(tb testing.TB) *rig {
	c := *r
	c.tb = tb
	return &c
}

func (r *rig) open() {
	r.tb.Helper()
	migrations, err := fs.Sub(switchyard.Migrations, "migrations")
	if err != nil {
		r.tb.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	if r.st, err = store.Open(context.Background(), r.dir, migrations, quiet); err != nil {
		r.tb.Fatal(err)
	}
	reg := engine.NewRegistry()
	routines.Register(reg)
	for _, k := range r.kinds {
		if err := reg.Register(k); err != nil {
			r.tb.Fatal(err)
		}
	}
	r.bus = events.NewBus(r.st.Writer)
	r.eng = engine.New(reg, r.bus, engine.Options{Logger: quiet, Hooks: r.hooks})
	if s, ok := r.hooks.(*snapper); ok {
		s.eng = r.eng
	}
}

func (r *rig) close() {
	if r.st == nil {
		return
	}
	_ = r.eng.Shutdown(context.Background())
	_ = r.st.Close()
	r.st = nil
}

// reopen closes and opens the database again, as a restarted server does.
func (r *rig) reopen() {
	r.close()
	r.open()
}

func (r *rig) service(opts history.Options) *history.Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return history.New(r.st, r.st.Writer, opts)
}

// flow stores a flow given as YAML and returns it with its version.
func (r *rig) flow(yaml string) *flow.Flow {
	r.tb.Helper()
	f, err := flow.Parse([]byte(yaml))
	if err != nil {
		r.tb.Fatal(err)
	}
	stored, err := r.st.CreateFlow(context.Background(), f)
	if err != nil {
		r.tb.Fatal(err)
	}
	return stored
}

// start starts a job of f.
func (r *rig) start(f *flow.Flow, params any) string {
	r.tb.Helper()
	js, err := r.eng.Start(engine.StartRequest{Flow: f, Params: params})
	if err != nil {
		r.tb.Fatal(err)
	}
	r.started.Store(js.JobID, js)
	return js.JobID
}

// run runs a job of f to its end and waits until its log is stored.
func (r *rig) run(f *flow.Flow, params any) string {
	r.tb.Helper()
	id := r.start(f, params)
	r.ended(id)
	return id
}

// ended waits until a job the rig started ends and its log is stored, and
// returns the state the engine ended it with: what a fold of the whole
// log must give.
func (r *rig) ended(id string) events.JobState {
	r.tb.Helper()
	js, ok := r.started.Load(id)
	if !ok {
		r.tb.Fatalf("job %s was not started by this rig", id)
	}
	final, err := js.(engine.Started).Wait(context.Background())
	if err != nil {
		r.tb.Fatal(err)
	}
	r.sync()
	return final
}

func (r *rig) sync() {
	r.tb.Helper()
	if err := r.st.Writer.Sync(context.Background()); err != nil {
		r.tb.Fatal(err)
	}
}

// bigFlow splits 1..n into a transform and an output: 6n+7 events.
func bigFlow(n int) string {
	return `flow_id: big
routines:
  start: {kind: input}
  split: {kind: split, config: {expr: "1..` + itoa(n) + `"}}
  double: {kind: transform, config: {expr: "{value: data * 2, label: 'item ' + string(data)}"}}
  done: {kind: output}
connections:
  - {from: start.output, to: split.input}
  - {from: split.item, to: double.input}
  - {from: double.output, to: done.input}
`
}

func itoa(n int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}
