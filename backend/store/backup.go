package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/mattn/go-sqlite3"
)

// ErrBackupExists is Backup's refusal to replace a file without force.
var ErrBackupExists = errors.New("the backup file exists")

// BackupOptions tune Backup.
type BackupOptions struct {
	// Force replaces an existing file at the destination.
	Force bool
	// Verify runs PRAGMA integrity_check on the copy before it is put in
	// place (it reads the whole copy once more).
	Verify bool
	// StepPages is how many pages each step copies [1024].
	StepPages int
	// Progress is told after each step how many pages of total are copied.
	Progress func(done, total int)
}

// BackupResult describes a backup made.
type BackupResult struct {
	Pages    int
	PageSize int64
	Steps    int
	// Restarts counts the times SQLite started the copy over (it does when
	// the source changes under a step); the snapshot Backup holds makes it
	// 0, the field is there to show it.
	Restarts int
	Verified bool
	Took     time.Duration
}

// Bytes is the size of the copy.
func (r BackupResult) Bytes() int64 { return int64(r.Pages) * r.PageSize }

// Backup copies the SQLite database at src into a new file dest with
// SQLite's online backup API, page by page, while a server may be writing
// to src. The copy is the database as it was when Backup began: the
// source connection opens a read transaction first and the backup steps
// run inside it, so in WAL mode writers go on meanwhile and the copy
// never restarts (a backup stepped without it starts over after every
// commit of another connection, which under a busy event log is for ever).
// The WAL cannot be truncated past that snapshot until Backup ends, so it
// grows by what is written meanwhile.
//
// The copy is made under a temporary name beside dest, synced, checked
// with integrity_check if opts.Verify, then put in place: an interrupted
// backup leaves no partial file under dest's name. dest is refused if it
// exists (or a -wal or -shm of it does) unless opts.Force, and always if
// it is src.
func Backup(ctx context.Context, src, dest string, opts BackupOptions) (BackupResult, error) {
	var res BackupResult
	start := time.Now()
	if opts.StepPages <= 0 {
		opts.StepPages = 1024
	}
	srcInfo, err := os.Stat(src)
	if err != nil {
		return res, fmt.Errorf("database %s: %w", src, err)
	}
	if err := checkDest(srcInfo, dest, opts.Force); err != nil {
		return res, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".partial-*")
	if err != nil {
		return res, fmt.Errorf("create the backup file: %w", err)
	}
	tmpPath := tmp.Name()
	tmp.Close()
	done := false
	defer func() {
		if !done {
			removeDB(tmpPath)
		}
	}()

	if err := copyDB(ctx, src, tmpPath, opts, &res); err != nil {
		return res, err
	}
	if opts.Verify {
		if err := integrityCheck(ctx, tmpPath); err != nil {
			return res, err
		}
		res.Verified = true
	}
	if err := syncFile(tmpPath); err != nil {
		return res, err
	}
	if opts.Force {
		if err := os.Rename(tmpPath, dest); err != nil {
			return res, fmt.Errorf("put the backup in place: %w", err)
		}
		for _, suffix := range []string{"-wal", "-shm", "-journal"} {
			_ = os.Remove(dest + suffix) // of the file replaced: they would be applied to the new one
		}
	} else {
		// A link, not a rename: it fails if dest appeared meanwhile.
		if err := os.Link(tmpPath, dest); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return res, fmt.Errorf("%s: %w (--force replaces it)", dest, ErrBackupExists)
			}
			return res, fmt.Errorf("put the backup in place: %w", err)
		}
		_ = os.Remove(tmpPath)
	}
	done = true
	if d, err := os.Open(filepath.Dir(dest)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	res.Took = time.Since(start)
	return res, nil
}

func checkDest(srcInfo os.FileInfo, dest string, force bool) error {
	for _, name := range []string{dest, dest + "-wal", dest + "-shm"} {
		info, err := os.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("backup file %s: %w", name, err)
		}
		if os.SameFile(info, srcInfo) {
			return fmt.Errorf("the backup file %s is the database itself", dest)
		}
		if info.IsDir() {
			return fmt.Errorf("the backup file %s is a directory", name)
		}
		if !force {
			return fmt.Errorf("%s: %w (--force replaces it)", name, ErrBackupExists)
		}
	}
	return nil
}

// copyDB runs the online backup from src into the empty file dest.
func copyDB(ctx context.Context, src, dest string, opts BackupOptions, res *BackupResult) error {
	// mode=rw: never create a database where there was none. Nothing is
	// written through this connection.
	srcDB, err := sql.Open("sqlite3", "file:"+url.PathEscape(src)+"?mode=rw&_busy_timeout=10000")
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer srcDB.Close()
	srcConn, err := srcDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer srcConn.Close()
	// The snapshot: a read transaction the backup steps run in.
	if _, err := srcConn.ExecContext(ctx, "BEGIN"); err != nil {
		return fmt.Errorf("begin reading %s: %w", src, err)
	}
	defer func() { _, _ = srcConn.ExecContext(context.Background(), "ROLLBACK") }()
	var tables int
	if err := srcConn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&tables); err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	if err := srcConn.QueryRowContext(ctx, "PRAGMA page_size").Scan(&res.PageSize); err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}

	destDB, err := sql.Open("sqlite3", "file:"+url.PathEscape(dest)+"?_busy_timeout=10000")
	if err != nil {
		return fmt.Errorf("open the backup file: %w", err)
	}
	defer destDB.Close()
	destConn, err := destDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open the backup file: %w", err)
	}
	defer destConn.Close()

	return destConn.Raw(func(d any) error {
		return srcConn.Raw(func(s any) error {
			b, err := d.(*sqlite3.SQLiteConn).Backup("main", s.(*sqlite3.SQLiteConn), "main")
			if err != nil {
				return fmt.Errorf("start the backup: %w", err)
			}
			lastDone := -1
			for {
				if err := ctx.Err(); err != nil {
					_ = b.Finish()
					return err
				}
				finished, err := b.Step(opts.StepPages)
				res.Steps++
				if err != nil {
					_ = b.Finish()
					return fmt.Errorf("backup step: %w", err)
				}
				total := b.PageCount()
				copied := total - b.Remaining()
				if copied < lastDone {
					res.Restarts++
				}
				stuck := copied == lastDone
				lastDone = copied
				res.Pages = total
				if opts.Progress != nil {
					opts.Progress(copied, total)
				}
				if finished {
					break
				}
				if stuck {
					time.Sleep(10 * time.Millisecond) // busy or locked: try again
				}
			}
			if err := b.Finish(); err != nil {
				return fmt.Errorf("finish the backup: %w", err)
			}
			return nil
		})
	})
}

// integrityCheck opens the copy and runs PRAGMA integrity_check on it.
func integrityCheck(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite3", "file:"+url.PathEscape(path)+"?mode=rw")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("integrity check of the backup: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check of the backup: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check of the backup failed: %v", problems)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync the backup: %w", err)
	}
	return nil
}

// removeDB removes a database file and whatever SQLite left beside it.
func removeDB(path string) {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		_ = os.Remove(path + suffix)
	}
}
