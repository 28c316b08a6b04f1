package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Breakpoint scopes: a job's own breakpoints, or a flow's, copied into every
// job of the flow started afterwards.
const (
	ScopeJob  = "job"
	ScopeFlow = "flow"
)

// Breakpoint is a debugger breakpoint as stored. Empty strings stand for
// absent optional fields.
type Breakpoint struct {
	ID            string    `db:"id"`
	Scope         string    `db:"scope"`
	ScopeID       string    `db:"scope_id"`
	Type          string    `db:"type"`
	RoutineID     string    `db:"routine_id"`
	Slot          string    `db:"slot"`
	Event         string    `db:"event"`
	Condition     string    `db:"condition"`
	HitCondition  string    `db:"hit_condition"`
	LogMessage    string    `db:"log_message"`
	Enabled       bool      `db:"enabled"`
	HitCount      int64     `db:"hit_count"`
	InheritedFrom string    `db:"inherited_from"`
	CreatedAt     time.Time `db:"-"`
	CreatedNanos  int64     `db:"created_at"`
}

const breakpointColumns = `id, scope, scope_id, type, routine_id, slot, event, condition, hit_condition,
	log_message, enabled, hit_count, inherited_from, created_at`

// CreateBreakpoints stores new breakpoints in one transaction (jobs' copies
// of flow breakpoints come in batches of thousands).
func (s *Store) CreateBreakpoints(ctx context.Context, bps []Breakpoint) error {
	if len(bps) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO breakpoints (`+breakpointColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("store breakpoints: %w", err)
		}
		defer stmt.Close()
		for _, b := range bps {
			if _, err := stmt.ExecContext(ctx, b.ID, b.Scope, b.ScopeID, b.Type, b.RoutineID, b.Slot, b.Event, b.Condition,
				b.HitCondition, b.LogMessage, b.Enabled, b.HitCount, b.InheritedFrom, nanos(b.CreatedAt)); err != nil {
				return fmt.Errorf("store breakpoint %s: %w", b.ID, err)
			}
		}
		return nil
	})
}

// Breakpoints lists the breakpoints of one job or flow (of every flow, or
// job, when scopeID is empty), oldest first.
func (s *Store) Breakpoints(ctx context.Context, scope, scopeID string) ([]Breakpoint, error) {
	var rows []Breakpoint
	var err error
	if scopeID == "" {
		err = s.r.SelectContext(ctx, &rows, `SELECT `+breakpointColumns+` FROM breakpoints WHERE scope = ? ORDER BY created_at, id`, scope)
	} else {
		err = s.r.SelectContext(ctx, &rows, `SELECT `+breakpointColumns+` FROM breakpoints
			WHERE scope = ? AND scope_id = ? ORDER BY created_at, id`, scope, scopeID)
	}
	if err != nil {
		return nil, fmt.Errorf("list breakpoints: %w", err)
	}
	for i := range rows {
		rows[i].CreatedAt = fromNanos(rows[i].CreatedNanos)
	}
	return rows, nil
}

// UpdateBreakpoint stores the editable fields of bp.
func (s *Store) UpdateBreakpoint(ctx context.Context, bp Breakpoint) error {
	res, err := s.w.NamedExecContext(ctx, `UPDATE breakpoints SET condition = :condition, hit_condition = :hit_condition,
		log_message = :log_message, enabled = :enabled WHERE id = :id`, &bp)
	if err != nil {
		return fmt.Errorf("update breakpoint %s: %w", bp.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("breakpoint %q: %w", bp.ID, ErrNotFound)
	}
	return nil
}

// DeleteBreakpoint removes one breakpoint.
func (s *Store) DeleteBreakpoint(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM breakpoints WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete breakpoint %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("breakpoint %q: %w", id, ErrNotFound)
	}
	return nil
}

// SetHitCounts stores hit counts (breakpoint id → count) in one transaction.
func (s *Store) SetHitCounts(ctx context.Context, counts map[string]int64) error {
	if len(counts) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		for id, n := range counts {
			if _, err := tx.ExecContext(ctx, `UPDATE breakpoints SET hit_count = ? WHERE id = ?`, n, id); err != nil {
				return fmt.Errorf("store hit count of %s: %w", id, err)
			}
		}
		return nil
	})
}

// deleteBreakpointsOf removes the breakpoints of a scope (a deleted flow).
func deleteBreakpointsOf(ctx context.Context, tx *sqlx.Tx, scope, scopeID string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM breakpoints WHERE scope = ? AND scope_id = ?`, scope, scopeID); err != nil {
		return fmt.Errorf("delete breakpoints of %s %s: %w", scope, scopeID, err)
	}
	return nil
}
