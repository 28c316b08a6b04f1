package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// FreePages is the number of pages on the database's free list: space
// deleted rows left, which IncrementalVacuum gives back to the file
// system.
func (s *Store) FreePages(ctx context.Context) (pages, pageSize int64, err error) {
	if err := s.r.GetContext(ctx, &pages, "PRAGMA freelist_count"); err != nil {
		return 0, 0, fmt.Errorf("read freelist_count: %w", err)
	}
	if err := s.r.GetContext(ctx, &pageSize, "PRAGMA page_size"); err != nil {
		return 0, 0, fmt.Errorf("read page_size: %w", err)
	}
	return pages, pageSize, nil
}

// IncrementalVacuum moves up to pages free pages to the end of the file
// and truncates it (auto_vacuum = INCREMENTAL), in one write transaction
// on the writer's connection; it returns how many pages it freed and how
// long it held the connection (waiting for it not counted).
func (s *Store) IncrementalVacuum(ctx context.Context, pages int) (int, time.Duration, error) {
	conn, err := s.w.Connx(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("incremental vacuum: %w", err)
	}
	defer conn.Close()
	start := time.Now()
	n, err := incrementalVacuum(ctx, conn, pages)
	return n, time.Since(start), err
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// incrementalVacuum runs PRAGMA incremental_vacuum(pages) on q (a
// connection, or a transaction: it works inside one).
func incrementalVacuum(ctx context.Context, q queryer, pages int) (int, error) {
	// The pragma frees one page per row it returns: Exec would step once
	// and free a single page, so the rows are read to the end.
	rows, err := q.QueryContext(ctx, fmt.Sprintf("PRAGMA incremental_vacuum(%d)", max(pages, 1)))
	if err != nil {
		return 0, fmt.Errorf("incremental vacuum: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("incremental vacuum: %w", err)
	}
	return n, nil
}
