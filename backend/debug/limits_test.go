package debug_test

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"testing"

	switchyard "github.com/switchyard/switchyard"
	"github.com/switchyard/switchyard/backend/debug"
	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/flow"
	"github.com/switchyard/switchyard/backend/routines"
	"github.com/switchyard/switchyard/backend/store"
)

func TestBreakpointsPerFlowAreBounded(t *testing.T) {
	ctx := context.Background()
	migrations, _ := fs.Sub(switchyard.Migrations, "migrations")
	quiet := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, t.TempDir(), migrations, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f, err := flow.Parse([]byte(chainYAML))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	dbg, err := debug.New(ctx, st, nil, debug.Options{Logger: quiet, MaxBreakpoints: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer dbg.Close()
	reg := engine.NewRegistry()
	routines.Register(reg)
	dbg.Attach(engine.New(reg, events.NewBus(st.Writer), engine.Options{Logger: quiet, Hooks: dbg}))
	in := debug.BreakpointInput{RoutineID: "double"}
	for i := range 3 {
		if _, err := dbg.CreateBreakpoint(ctx, store.ScopeFlow, "chain", in); err != nil {
			t.Fatalf("breakpoint %d: %v", i+1, err)
		}
	}
	if _, err := dbg.CreateBreakpoint(ctx, store.ScopeFlow, "chain", in); !errors.Is(err, debug.ErrTooMany) {
		t.Fatalf("the 4th breakpoint: %v", err)
	}
}
