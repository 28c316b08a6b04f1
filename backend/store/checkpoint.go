package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
)

// checkpointInterval is how often the WAL is folded into the database.
const checkpointInterval = 250 * time.Millisecond

// checkpointBusyTimeout is how long a WAL reset waits for readers of older
// snapshots. It is short on purpose: while a reset waits the event writer
// cannot commit, and a reader may keep its snapshot for minutes (a backup
// does); at the connections' usual busyTimeout, every reset during a
// backup stalled the writer for 10 s. A reset that times out is a passive
// checkpoint and is tried again later.
const checkpointBusyTimeout = 50 * time.Millisecond

// truncateEvery is how many checkpoints apart the WAL is truncated
// whatever its size (40 × 250 ms: about every 10 s).
const truncateEvery = 40

// checkpointer copies the WAL into the database file from its own
// connection, so the event writer never pays for it. PASSIVE checkpoints
// never block the writer. Under steady writing they never catch up with
// the writer either, so the WAL never starts over by itself: a reset
// every ~10 s, and as soon as the WAL passes walSizeLimit, keeps the file
// from growing without bound (a peer's grew to 101 GB).
//
// The resets run on the event writer's connection, between two of its
// batches (Writer.resetWAL), right after a PASSIVE checkpoint has copied
// nearly everything. Run from this connection, a reset took the write
// lock while the writer was committing, and the writer, refused, slept in
// SQLite's busy handler (1, 2, 5, 10, 15, 20 ms…) well past the moment
// the lock was free again: under load that stall came every 0.7 s.
type checkpointer struct {
	db      *sqlx.DB
	log     *slog.Logger
	reset   func(mode string) (checkpointResult, error)
	stop    chan struct{}
	stopped chan struct{}
}

func newCheckpointer(db *sqlx.DB, log *slog.Logger, reset func(mode string) (checkpointResult, error)) *checkpointer {
	c := &checkpointer{db: db, log: log, reset: reset, stop: make(chan struct{}), stopped: make(chan struct{})}
	go c.loop()
	return c
}

// checkpointResult is the row of PRAGMA wal_checkpoint.
type checkpointResult struct {
	Busy         int   `db:"busy"`         // 1: it could not finish (a lock or a reader was in the way)
	Log          int64 `db:"log"`          // frames in the WAL
	Checkpointed int64 `db:"checkpointed"` // frames copied into the database
}

// walCheckpoint runs PRAGMA wal_checkpoint(mode) on db.
func walCheckpoint(ctx context.Context, db sqlx.QueryerContext, mode string) (checkpointResult, error) {
	var r checkpointResult
	err := db.QueryRowxContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&r.Busy, &r.Log, &r.Checkpointed)
	if err != nil {
		return r, fmt.Errorf("wal checkpoint (%s): %w", mode, err)
	}
	return r, nil
}

func (c *checkpointer) loop() {
	defer close(c.stopped)
	pageSize := int64(4096)
	_ = c.db.Get(&pageSize, "PRAGMA page_size")
	tick := time.NewTicker(checkpointInterval)
	defer tick.Stop()
	var lastBusy time.Time // the last TRUNCATE that could not finish
	for n := 1; ; n++ {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		r, err := walCheckpoint(context.Background(), c.db, "PASSIVE")
		if err != nil {
			c.log.Warn("passive checkpoint", "err", err)
			continue
		}
		// A WAL over the limit is reset now, unless a reset just failed
		// (a long reader): then it waits for the next regular one, so a
		// backup costs the writer at most one short wait per 10 s. Past
		// the limit the WAL starts over from its beginning (RESTART: the
		// file keeps its size, journal_size_limit); the regular reset
		// also empties the file (TRUNCATE), which costs more.
		big := r.Log*(pageSize+24) > walSizeLimit && time.Since(lastBusy) > truncateEvery*checkpointInterval
		mode := "RESTART"
		if n%truncateEvery == 0 {
			mode = "TRUNCATE"
		} else if !big {
			continue
		}
		c.catchUp(r)
		if r, err := c.reset(mode); err != nil {
			c.log.Warn("wal reset", "mode", mode, "err", err)
		} else if r.Busy != 0 {
			lastBusy = time.Now()
		}
	}
}

// catchUpFrames is how many frames a reset may be left to copy: the
// writer waits while it does.
const catchUpFrames = 512

// catchUp runs more passive checkpoints before a reset, until one copies
// fewer than catchUpFrames frames: each copies what the writer committed
// while the one before ran, so they shrink fast, and the reset, which
// holds the writer, copies what little is left. (A checkpoint's Log is
// the WAL as it was when the checkpoint began, so only the difference
// between two checkpoints tells what was added.)
func (c *checkpointer) catchUp(r checkpointResult) {
	for range 4 {
		next, err := walCheckpoint(context.Background(), c.db, "PASSIVE")
		if err != nil {
			c.log.Warn("passive checkpoint", "err", err)
			return
		}
		if next.Checkpointed-r.Checkpointed < catchUpFrames {
			return
		}
		r = next
	}
}

func (c *checkpointer) close() {
	close(c.stop)
	<-c.stopped
	c.db.Close()
}
