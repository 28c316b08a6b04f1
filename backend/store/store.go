// Package store is the only package that speaks SQL. It keeps flows, flow
// versions, jobs, the event log, log lines and breakpoints in one SQLite file:
// WAL mode, a single immediate-mode writer connection, a read-only pool.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/mattn/go-sqlite3"
)

// writerDriver is go-sqlite3 with automatic WAL checkpoints turned off on
// every connection it opens: the writer commits without stopping to copy
// the WAL into the database; a separate connection checkpoints in the
// background (see checkpointer), on the other core.
const writerDriver = "sqlite3_switchyard_writer"

func init() {
	sql.Register(writerDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec("PRAGMA wal_autocheckpoint = 0", nil)
		return err
	}})
}

// Errors the API maps to status codes.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
)

// Store is the SQLite database. Reads go to a pool of read-only connections,
// writes to one writer connection so they never hit "database is locked".
type Store struct {
	w   *sqlx.DB
	r   *sqlx.DB
	ck  *checkpointer
	log *slog.Logger
	// Writer is the batched writer of the event log.
	Writer *Writer
	flows  *flowCache
	// migrations is how many migrations this binary has (Ready checks the
	// database has them all).
	migrations int
}

// FileName is the database file created under the data directory.
const FileName = "switchyard.db"

// Open opens (creating if needed) the database under dir and applies the
// migrations found in migrations (files *.sql, applied in lexical order).
func Open(ctx context.Context, dir string, migrations fs.FS, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	path := filepath.Join(dir, FileName)
	common := "_busy_timeout=10000&_foreign_keys=on&_synchronous=NORMAL&_journal_mode=WAL"
	w, err := sqlx.Open(writerDriver, "file:"+url.PathEscape(path)+"?"+common+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{w: w, log: logger, flows: newFlowCache()}
	if err := s.migrate(ctx, migrations); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sqlx.Open("sqlite3", "file:"+url.PathEscape(path)+"?"+common+"&mode=ro")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open read pool: %w", err)
	}
	r.SetMaxOpenConns(4)
	s.r = r
	ck, err := sqlx.Open("sqlite3", "file:"+url.PathEscape(path)+"?"+common)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open checkpoint connection: %w", err)
	}
	ck.SetMaxOpenConns(1)
	s.ck = newCheckpointer(ck, logger)
	s.Writer = newWriter(w, logger)
	return s, nil
}

// Close stops the event writer after flushing it and closes the database.
func (s *Store) Close() error {
	s.Writer.close()
	s.ck.close()
	errR := s.r.Close()
	// A final checkpoint folds the WAL into the main file so a clean shutdown
	// leaves one self-contained database file.
	if _, err := s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		s.log.Warn("wal checkpoint at close", "err", err)
	}
	return errors.Join(errR, s.w.Close())
}

func (s *Store) migrate(ctx context.Context, migrations fs.FS) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	s.migrations = len(names)
	for _, name := range names {
		base := filepath.Base(name)
		var done int
		if err := s.w.GetContext(ctx, &done, `SELECT count(*) FROM schema_migrations WHERE name = ?`, base); err != nil {
			return fmt.Errorf("check migration %s: %w", base, err)
		}
		if done > 0 {
			continue
		}
		body, err := fs.ReadFile(migrations, name)
		if err != nil {
			return fmt.Errorf("read migration %s: %w", base, err)
		}
		err = s.tx(ctx, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, base, time.Now().UnixNano())
			return err
		})
		if err != nil {
			return fmt.Errorf("apply migration %s: %w", base, err)
		}
		s.log.Info("applied migration", "name", base)
	}
	return nil
}

// Ready reports whether the database can serve: every migration of this
// binary applied, and a write transaction can begin (the file is writable
// and not locked by another process).
func (s *Store) Ready(ctx context.Context) error {
	var applied int
	if err := s.r.GetContext(ctx, &applied, `SELECT count(*) FROM schema_migrations`); err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	if applied < s.migrations {
		return fmt.Errorf("%d of %d migrations applied", applied, s.migrations)
	}
	tx, err := s.w.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("database not writable: %w", err)
	}
	return tx.Rollback()
}

// tx runs fn in a write transaction, committing if it returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sqlx.Tx) error) error {
	tx, err := s.w.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func nanos(t time.Time) int64 { return t.UnixNano() }

func nanosPtr(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	n := t.UnixNano()
	return &n
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func fromNanosPtr(n *int64) *time.Time {
	if n == nil {
		return nil
	}
	t := fromNanos(*n)
	return &t
}

// likePattern escapes a user's substring for LIKE … ESCAPE '\'.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}
