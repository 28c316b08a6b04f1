package store

import (
	"context"
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
	// The pragma frees one page per row it returns: Exec would step once
	// and free a single page, so the rows are read to the end.
	rows, err := conn.QueryContext(ctx, fmt.Sprintf("PRAGMA incremental_vacuum(%d)", max(pages, 1)))
	if err != nil {
		return 0, time.Since(start), fmt.Errorf("incremental vacuum: %w", err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return n, time.Since(start), fmt.Errorf("incremental vacuum: %w", err)
	}
	return n, time.Since(start), nil
}
