package server

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/switchyard/switchyard/backend/flow"
	"github.com/switchyard/switchyard/backend/store"
	"github.com/switchyard/switchyard/examples"
)

// loadExamples stores the example flows into a database that has never had
// a flow, so a new user finds flows to run; later starts leave flows alone.
func loadExamples(ctx context.Context, st *store.Store, cat flow.Catalogue, log *slog.Logger) error {
	n, err := st.FlowCount(ctx)
	if err != nil || n > 0 {
		return err
	}
	names, err := fs.Glob(examples.Flows, "flows/*.yaml")
	if err != nil {
		return err
	}
	for _, name := range names {
		src, err := fs.ReadFile(examples.Flows, name)
		if err != nil {
			return fmt.Errorf("example %s: %w", name, err)
		}
		f, err := flow.Parse(src)
		if err != nil {
			return fmt.Errorf("example %s: %w", name, err)
		}
		if res := flow.Validate(f, cat); !res.Valid {
			return fmt.Errorf("example %s is invalid: %v", name, res.Errors)
		}
		if _, err := st.CreateFlow(ctx, f); err != nil {
			return fmt.Errorf("example %s: %w", name, err)
		}
		log.Info("loaded example flow", "flow", f.ID)
	}
	return nil
}
