package store

import (
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
)

// checkpointInterval is how often the WAL is folded into the database.
const checkpointInterval = 250 * time.Millisecond

// checkpointer copies the WAL into the database file from its own
// connection, so the event writer never pays for it. PASSIVE checkpoints
// never block the writer; a TRUNCATE now and then keeps the WAL file from
// growing without bound (a peer's grew to 101 GB).
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

func (c *checkpointer) loop() {
	defer close(c.stopped)
	tick := time.NewTicker(checkpointInterval)
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		mode := "PASSIVE"
		if n%40 == 0 { // every ~10 s
			mode = "TRUNCATE"
		}
		if _, err := c.db.Exec("PRAGMA wal_checkpoint(" + mode + ")"); err != nil {
			c.log.Warn("wal checkpoint", "mode", mode, "err", err)
		}
	}
}

func (c *checkpointer) close() {
	close(c.stop)
	<-c.stopped
	c.db.Close()
}
