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
	Deleted       bool      `db:"deleted"` // a job's deleted copy of a flow breakpoint
	CreatedAt     time.Time `db:"-"`
	CreatedNanos  int64     `db:"created_at"`
}

const breakpointColumns = `id, scope, scope_id, type, routine_id, slot, event, condition, hit_condition,
	log_message, enabled, hit_count, inherited_from, deleted, created_at`

// PutBreakpoints stores breakpoints in one transaction, new ones or new
// states of stored ones (edits, hit counts, deletion marks).
func (s *Store) PutBreakpoints(ctx context.Context, bps []Breakpoint) error {
	if len(bps) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO breakpoints (`+breakpointColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET condition = excluded.condition, hit_condition = excluded.hit_condition,
				log_message = excluded.log_message, enabled = excluded.enabled, hit_count = excluded.hit_count,
				deleted = excluded.deleted`)
		if err != nil {
			return fmt.Errorf("store breakpoints: %w", err)
		}
		defer stmt.Close()
		for _, b := range bps {
			if _, err := stmt.ExecContext(ctx, b.ID, b.Scope, b.ScopeID, b.Type, b.RoutineID, b.Slot, b.Event, b.Condition,
				b.HitCondition, b.LogMessage, b.Enabled, b.HitCount, b.InheritedFrom, b.Deleted, nanos(b.CreatedAt)); err != nil {
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

// deleteBreakpointsOf removes the breakpoints of a scope (a deleted flow).
func deleteBreakpointsOf(ctx context.Context, tx *sqlx.Tx, scope, scopeID string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM breakpoints WHERE scope = ? AND scope_id = ?`, scope, scopeID); err != nil {
		return fmt.Errorf("delete breakpoints of %s %s: %w", scope, scopeID, err)
	}
	return nil
}
