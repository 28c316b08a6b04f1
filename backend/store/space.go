package store

import (
	"context"
	"fmt"
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
// on the writer's connection; it returns how many pages it freed.
func (s *Store) IncrementalVacuum(ctx context.Context, pages int) (int, error) {
	// The pragma frees one page per row it returns: Exec would step once
	// and free a single page, so the rows are read to the end.
	rows, err := s.w.QueryContext(ctx, fmt.Sprintf("PRAGMA incremental_vacuum(%d)", max(pages, 1)))
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
