package store

import (
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
)

// checkpointInterval is how often the WAL is folded into the database.
const checkpointInterval = 250 * time.Millisecond

// checkpointBusyTimeout is how long a truncating checkpoint waits for the
// writer's lock and then, holding it, for readers of older snapshots. It
// is short on purpose: while a TRUNCATE waits for a reader the event
// writer cannot commit, and a reader may keep its snapshot for minutes (a
// backup does); at the connections' usual 10 s, every truncation during a
// backup stalled the writer for 10 s. A truncation that times out is a
// passive checkpoint and is tried again later.
const checkpointBusyTimeout = 50 * time.Millisecond

// truncateEvery is how many checkpoints apart a TRUNCATE is tried
// whatever the WAL's size (40 × 250 ms: about every 10 s).
const truncateEvery = 40

// checkpointer copies the WAL into the database file from its own
// connection, so the event writer never pays for it. PASSIVE checkpoints
// never block the writer. Under steady writing they never catch up with
// the writer either, so the WAL never starts over by itself: a TRUNCATE
// every ~10 s, and as soon as the WAL passes walSizeLimit, keeps the file
// from growing without bound (a peer's grew to 101 GB).
type checkpointer struct {
	db      *sqlx.DB
	log     *slog.Logger
	stop    chan struct{}
	stopped chan struct{}
}

func newCheckpointer(db *sqlx.DB, log *slog.Logger) *checkpointer {
	c := &checkpointer{db: db, log: log, stop: make(chan struct{}), stopped: make(chan struct{})}
	go c.loop()
	return c
}

// checkpointResult is the row of PRAGMA wal_checkpoint.
type checkpointResult struct {
	Busy         int   `db:"busy"`         // 1: it could not finish (a lock or a reader was in the way)
	Log          int64 `db:"log"`          // frames in the WAL
	Checkpointed int64 `db:"checkpointed"` // frames copied into the database
}

func (c *checkpointer) checkpoint(mode string) (checkpointResult, error) {
	var r checkpointResult
	err := c.db.QueryRowx("PRAGMA wal_checkpoint("+mode+")").Scan(&r.Busy, &r.Log, &r.Checkpointed)
	if err != nil {
		c.log.Warn("wal checkpoint", "mode", mode, "err", err)
	}
	return r, err
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
		r, err := c.checkpoint("PASSIVE")
		// A WAL over the limit is truncated now, unless a truncation just
		// failed (a long reader): then it waits for the next regular one,
		// so a backup costs the writer at most one short wait per 10 s.
		big := err == nil && r.Log*(pageSize+24) > walSizeLimit && time.Since(lastBusy) > truncateEvery*checkpointInterval
		if n%truncateEvery == 0 || big {
			if r, err := c.checkpoint("TRUNCATE"); err == nil && r.Busy != 0 {
				lastBusy = time.Now()
			}
		}
	}
}

func (c *checkpointer) close() {
	close(c.stop)
	<-c.stopped
	c.db.Close()
}
