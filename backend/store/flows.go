package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/switchyard/switchyard/backend/flow"
)

// FlowSummary is a flow without its routines and connections.
type FlowSummary struct {
	ID           string    `json:"flow_id" db:"id"`
	Name         string    `json:"name" db:"name"`
	Description  string    `json:"description" db:"description"`
	Version      int       `json:"version" db:"version"`
	RoutineCount int       `json:"routine_count" db:"routine_count"`
	CreatedAt    time.Time `json:"created_at" db:"-"`
	UpdatedAt    time.Time `json:"updated_at" db:"-"`
}

type flowRow struct {
	FlowSummary
	Created int64  `db:"created_at"`
	Updated int64  `db:"updated_at"`
	Deleted *int64 `db:"deleted_at"`
}

func (r flowRow) summary() FlowSummary {
	s := r.FlowSummary
	s.CreatedAt, s.UpdatedAt = fromNanos(r.Created), fromNanos(r.Updated)
	return s
}

// CreateFlow stores f as a new flow. A flow id that was deleted may be
// created again; its version numbers continue, so old jobs still resolve.
func (s *Store) CreateFlow(ctx context.Context, f *flow.Flow) (*flow.Flow, error) {
	var out *flow.Flow
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var row flowRow
		err := tx.GetContext(ctx, &row, `SELECT * FROM flows WHERE id = ?`, f.ID)
		switch {
		case err == nil && row.Deleted == nil:
			return fmt.Errorf("flow %q: %w", f.ID, ErrExists)
		case err == nil:
			out, err = s.putVersion(ctx, tx, f, row.Version+1, time.Now())
			return err
		case errors.Is(err, sql.ErrNoRows):
			out, err = s.putVersion(ctx, tx, f, 1, time.Now())
			return err
		default:
			return err
		}
	})
	if err == nil {
		s.flows.wrote(out.ID, out.Version)
	}
	return out, err
}

// UpdateFlow stores f as the next version of an existing flow.
func (s *Store) UpdateFlow(ctx context.Context, f *flow.Flow) (*flow.Flow, error) {
	var out *flow.Flow
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var row flowRow
		err := tx.GetContext(ctx, &row, `SELECT * FROM flows WHERE id = ? AND deleted_at IS NULL`, f.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("flow %q: %w", f.ID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		out, err = s.putVersion(ctx, tx, f, row.Version+1, fromNanos(row.Created))
		return err
	})
	if err == nil {
		s.flows.wrote(out.ID, out.Version)
	}
	return out, err
}

func (s *Store) putVersion(ctx context.Context, tx *sqlx.Tx, f *flow.Flow, version int, created time.Time) (*flow.Flow, error) {
	now := time.Now().UTC()
	stored := *f
	stored.Version = version
	stored.CreatedAt, stored.UpdatedAt = &created, &now
	def, err := json.Marshal(stored)
	if err != nil {
		return nil, fmt.Errorf("encode flow: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO flow_versions (flow_id, version, definition, created_at) VALUES (?, ?, ?, ?)`,
		f.ID, version, string(def), nanos(now)); err != nil {
		return nil, fmt.Errorf("insert flow version: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO flows (id, name, description, version, routine_count, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, version = excluded.version,
			routine_count = excluded.routine_count, updated_at = excluded.updated_at, deleted_at = NULL`,
		f.ID, f.Name, f.Description, version, len(f.Routines), nanos(created), nanos(now)); err != nil {
		return nil, fmt.Errorf("upsert flow: %w", err)
	}
	return &stored, nil
}

// GetFlow loads a flow at version (0 = the current one). A job's version of
// a deleted flow can still be loaded; the flow itself cannot. The flow is
// shared with other callers (it is cached): it must not be changed.
func (s *Store) GetFlow(ctx context.Context, id string, version int) (*flow.Flow, error) {
	if version <= 0 {
		v, gen, ok := s.flows.currentVersion(id)
		if !ok {
			err := s.r.GetContext(ctx, &v, `SELECT version FROM flows WHERE id = ? AND deleted_at IS NULL`, id)
			if errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("flow %q: %w", id, ErrNotFound)
			}
			if err != nil {
				return nil, fmt.Errorf("get flow %q: %w", id, err)
			}
			s.flows.noteCurrent(id, v, gen)
		}
		version = v
	}
	if f := s.flows.version(id, version); f != nil {
		return f, nil
	}
	var def string
	err := s.r.GetContext(ctx, &def, `SELECT definition FROM flow_versions WHERE flow_id = ? AND version = ?`, id, version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("flow %q version %d: %w", id, version, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get flow %q version %d: %w", id, version, err)
	}
	var f flow.Flow
	if err := json.Unmarshal([]byte(def), &f); err != nil {
		return nil, fmt.Errorf("decode flow %q version %d: %w", id, version, err)
	}
	s.flows.noteVersion(&f)
	return &f, nil
}

// ListFlows returns current flows ordered by id.
func (s *Store) ListFlows(ctx context.Context, limit, offset int) ([]FlowSummary, int, error) {
	var total int
	if err := s.r.GetContext(ctx, &total, `SELECT count(*) FROM flows WHERE deleted_at IS NULL`); err != nil {
		return nil, 0, fmt.Errorf("count flows: %w", err)
	}
	var rows []flowRow
	if err := s.r.SelectContext(ctx, &rows, `SELECT * FROM flows WHERE deleted_at IS NULL ORDER BY id LIMIT ? OFFSET ?`, limit, offset); err != nil {
		return nil, 0, fmt.Errorf("list flows: %w", err)
	}
	out := make([]FlowSummary, len(rows))
	for i, r := range rows {
		out[i] = r.summary()
	}
	return out, total, nil
}

// DeleteFlow hides a flow and deletes its breakpoints. Its versions stay,
// so its jobs keep their history.
func (s *Store) DeleteFlow(ctx context.Context, id string) error {
	defer s.flows.wrote(id, 0)
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE flows SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL`, time.Now().UnixNano(), id)
		if err != nil {
			return fmt.Errorf("delete flow %q: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("flow %q: %w", id, ErrNotFound)
		}
		return deleteBreakpointsOf(ctx, tx, ScopeFlow, id)
	})
}

// FlowCount is the number of current flows (used to seed examples once).
func (s *Store) FlowCount(ctx context.Context) (int, error) {
	var n int
	err := s.r.GetContext(ctx, &n, `SELECT count(*) FROM flows`)
	return n, err
}
