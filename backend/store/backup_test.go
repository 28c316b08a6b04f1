package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/store"
)

// restoreInto puts a backup file in place as the database of a new data
// directory, as docs/operations.md says to.
func restoreInto(t *testing.T, backup string) string {
	t.Helper()
	dir := t.TempDir()
	raw, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, store.FileName), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBackupWhileJobsAreWritten(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	defer s.Close()
	now := time.Now()
	for i := 0; i < 3000; i++ {
		publishDated(s.Writer, jobID(now, i), now, now, 20, events.StatusCompleted)
	}
	if err := s.Writer.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// Writing goes on during the backup, Synced in small batches as the
	// API's job starts are.
	var written atomic.Int64
	written.Store(3000)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 3000; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			publishDated(s.Writer, jobID(now, n), now, now, 20, events.StatusCompleted)
			if n%20 == 0 {
				_ = s.Writer.Sync(ctx)
				written.Store(int64(n))
			}
		}
	}()
	acked := int(written.Load()) // every job up to here is stored before the backup starts

	dest := filepath.Join(t.TempDir(), "backup.db")
	var calls int
	res, err := store.Backup(ctx, filepath.Join(dir, store.FileName), dest, store.BackupOptions{
		StepPages: 64, Verify: true, Progress: func(done, total int) { calls++ },
	})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("backup: %d pages of %d bytes in %d steps, %d restarts, %v; %d jobs written meanwhile",
		res.Pages, res.PageSize, res.Steps, res.Restarts, res.Took, int(written.Load())-acked)
	if res.Restarts != 0 || res.Steps < 2 || calls != res.Steps || !res.Verified {
		t.Errorf("result %+v, progress calls %d", res, calls)
	}
	if written.Load() == int64(acked) {
		t.Error("no job was written during the backup")
	}
	if ok := sqliteString(t, dest, "PRAGMA integrity_check"); ok != "ok" {
		t.Fatalf("integrity_check of the backup: %s", ok)
	}
	if st, err := os.Stat(dest); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("backup file: %v %v", st, err)
	}
	for _, leftover := range []string{"-wal", "-shm", "-journal"} {
		if _, err := os.Stat(dest + leftover); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s beside the backup: %v", leftover, err)
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), ".*partial*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	r := open(t, restoreInto(t, dest))
	defer r.Close()
	for i := 0; i < acked; i++ {
		if _, err := r.GetJob(ctx, jobID(now, i)); err != nil {
			t.Fatalf("job %d, stored before the backup began, is not in it: %v", i, err)
		}
	}
	if evs, err := r.Events(ctx, jobID(now, acked-1), 0, 100); err != nil || len(evs) != 22 {
		t.Fatalf("events of the last acknowledged job: %d %v", len(evs), err)
	}
}

func TestBackupOfAStoppedDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	now := time.Now()
	publishDated(s.Writer, jobID(now, 1), now, now, 5, events.StatusCompleted)
	s.Close()
	src := filepath.Join(dir, store.FileName)
	dest := filepath.Join(t.TempDir(), "b.db")
	if _, err := store.Backup(ctx, src, dest, store.BackupOptions{Verify: true}); err != nil {
		t.Fatal(err)
	}
	for _, leftover := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(src + leftover); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("backup left %s beside the stopped database: %v", leftover, err)
		}
	}
	r := open(t, restoreInto(t, dest))
	defer r.Close()
	if _, err := r.GetJob(ctx, jobID(now, 1)); err != nil {
		t.Fatal(err)
	}
}

func TestBackupRefusesToOverwriteUnlessForced(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	defer s.Close()
	src := filepath.Join(dir, store.FileName)
	out := t.TempDir()
	dest := filepath.Join(out, "b.db")
	if err := os.WriteFile(dest, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Backup(ctx, src, dest, store.BackupOptions{}); !errors.Is(err, store.ErrBackupExists) {
		t.Fatalf("existing file: %v", err)
	}
	if raw, _ := os.ReadFile(dest); string(raw) != "precious" {
		t.Fatal("the existing file was touched")
	}
	// A stale WAL of the file replaced goes with it: SQLite would apply it
	// to the new file.
	if err := os.WriteFile(dest+"-wal", []byte("stale"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Backup(ctx, src, dest, store.BackupOptions{Force: true, Verify: true}); err != nil {
		t.Fatalf("forced: %v", err)
	}
	if _, err := os.Stat(dest + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale -wal kept: %v", err)
	}
	if ok := sqliteString(t, dest, "PRAGMA integrity_check"); ok != "ok" {
		t.Fatalf("integrity_check: %s", ok)
	}
	if _, err := store.Backup(ctx, src, src, store.BackupOptions{Force: true}); err == nil {
		t.Fatal("a backup over the database itself was not refused")
	}
	if _, err := store.Backup(ctx, filepath.Join(out, "none.db"), filepath.Join(out, "c.db"), store.BackupOptions{}); err == nil {
		t.Fatal("a backup of a missing database did not fail")
	}
	if _, err := os.Stat(filepath.Join(out, "none.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a database was created where there was none: %v", err)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 {
		t.Errorf("files in the backup directory: %v", entries)
	}
}
