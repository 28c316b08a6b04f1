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
		if err == nil {
			// When a checkpoint has copied the whole WAL and the writer
			// starts it over, the file is cut back to this size; the
			// checkpointer's TRUNCATE empties it every ~10 s anyway.
			_, err = c.Exec(fmt.Sprintf("PRAGMA journal_size_limit = %d", walSizeLimit), nil)
		}
		return err
	}})
}

// busyTimeout is how long a connection waits for a lock another holds.
const busyTimeout = 10 * time.Second

// walSizeLimit is the size the WAL is cut back to when it is reset.
const walSizeLimit = 64 << 20

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
	common := fmt.Sprintf("_busy_timeout=%d&_foreign_keys=on&_synchronous=NORMAL&_journal_mode=WAL", busyTimeout.Milliseconds())
	// _auto_vacuum is set before the journal mode and before any table
	// exists, so a new database keeps track of its free pages from the
	// start (retention gives them back with incremental_vacuum).
	w, err := sqlx.Open(writerDriver, "file:"+url.PathEscape(path)+"?"+common+"&_txlock=immediate&_auto_vacuum=incremental")
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
	if err := s.ensureIncrementalVacuum(ctx); err != nil {
		w.Close()
		return nil, err
	}
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
	if s.Writer, err = newWriter(w, logger); err != nil {
		ck.Close()
		w.Close()
		r.Close()
		return nil, err
	}
	s.ck = newCheckpointer(ck, logger, s.Writer.resetWAL)
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

// ensureIncrementalVacuum converts a database made before auto_vacuum was
// set (mode NONE) to INCREMENTAL. SQLite changes the mode of a database
// that has tables only with a VACUUM, which rewrites the whole file: it
// runs once, at the first start of a binary with this code, and takes
// about as long as copying the file (it needs as much free disk again,
// and the WAL grows to the database's size until it is checkpointed).
func (s *Store) ensureIncrementalVacuum(ctx context.Context) error {
	var mode int
	if err := s.w.GetContext(ctx, &mode, "PRAGMA auto_vacuum"); err != nil {
		return fmt.Errorf("read auto_vacuum: %w", err)
	}
	if mode == autoVacuumIncremental {
		return nil
	}
	var tables int
	if err := s.w.GetContext(ctx, &tables, "SELECT count(*) FROM sqlite_master"); err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	var pages, pageSize int64
	_ = s.w.GetContext(ctx, &pages, "PRAGMA page_count")
	_ = s.w.GetContext(ctx, &pageSize, "PRAGMA page_size")
	start := time.Now()
	if tables > 0 {
		s.log.Info("converting the database to incremental auto-vacuum: a one-time VACUUM rewrites the file",
			"bytes", pages*pageSize, "auto_vacuum", mode)
	}
	if _, err := s.w.ExecContext(ctx, "PRAGMA auto_vacuum = INCREMENTAL"); err != nil {
		return fmt.Errorf("set auto_vacuum: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, "VACUUM"); err != nil {
		return fmt.Errorf("vacuum (to turn on incremental auto-vacuum): %w", err)
	}
	if _, err := s.w.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return fmt.Errorf("checkpoint after vacuum: %w", err)
	}
	if err := s.w.GetContext(ctx, &mode, "PRAGMA auto_vacuum"); err != nil || mode != autoVacuumIncremental {
		return fmt.Errorf("auto_vacuum is %d after VACUUM, want %d (incremental): %v", mode, autoVacuumIncremental, err)
	}
	if tables > 0 {
		_ = s.w.GetContext(ctx, &pages, "PRAGMA page_count")
		s.log.Info("converted the database to incremental auto-vacuum", "bytes", pages*pageSize, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// autoVacuumIncremental is PRAGMA auto_vacuum's value for INCREMENTAL.
const autoVacuumIncremental = 2

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
