package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Token is an API token as stored: its secret only as a hash.
type Token struct {
	ID         string     `db:"id"`
	Name       string     `db:"name"`
	Role       string     `db:"role"`
	SecretHash []byte     `db:"secret_hash"`
	CreatedAt  time.Time  `db:"-"`
	LastUsedAt *time.Time `db:"-"`
	RevokedAt  *time.Time `db:"-"`
}

// Revoked reports whether the token was revoked.
func (t Token) Revoked() bool { return t.RevokedAt != nil }

type tokenRow struct {
	Token
	Created  int64  `db:"created_at"`
	LastUsed *int64 `db:"last_used_at"`
	Revoked  *int64 `db:"revoked_at"`
}

func (r tokenRow) token() Token {
	t := r.Token
	t.CreatedAt, t.LastUsedAt, t.RevokedAt = fromNanos(r.Created), fromNanosPtr(r.LastUsed), fromNanosPtr(r.Revoked)
	return t
}

// CreateToken stores a new token; ErrExists if its id is taken.
func (s *Store) CreateToken(ctx context.Context, t Token) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM tokens WHERE id = ?`, t.ID); err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("token %q: %w", t.ID, ErrExists)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO tokens (id, name, role, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
			t.ID, t.Name, t.Role, t.SecretHash, nanos(t.CreatedAt))
		if err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		return nil
	})
}

// ListTokens returns every token, revoked ones too, oldest first.
func (s *Store) ListTokens(ctx context.Context) ([]Token, error) {
	var rows []tokenRow
	if err := s.r.SelectContext(ctx, &rows, `SELECT * FROM tokens ORDER BY created_at, id`); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out := make([]Token, len(rows))
	for i, r := range rows {
		out[i] = r.token()
	}
	return out, nil
}

// RevokeToken marks a token revoked (a second revoke keeps the first
// time) and returns it; ErrNotFound if there is none with the id.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) (Token, error) {
	var out Token
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, nanos(at), id); err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		var row tokenRow
		err := tx.GetContext(ctx, &row, `SELECT * FROM tokens WHERE id = ?`, id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("token %q: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		out = row.token()
		return nil
	})
	return out, err
}

// TouchToken records a use of the token (last_used_at never goes back).
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
		nanos(at), id, nanos(at))
	if err != nil {
		return fmt.Errorf("touch token: %w", err)
	}
	return nil
}
