-- Checkpoints of the post-mortem history (backend/history): the folded state
-- of a finished job after every N events of its log, so reading the job's
-- state at any seq folds at most N events instead of the whole log. They are
-- derived data: deleting rows only makes the next query slower.
CREATE TABLE history_checkpoints (
    job_id TEXT NOT NULL,
    seq    INTEGER NOT NULL,     -- the state is the job's right after this event
    format INTEGER NOT NULL,     -- encoding version of body; rows of another version are ignored
    codec  INTEGER NOT NULL DEFAULT 0, -- 0 plain, 1 S2 block (as event_chunks)
    body   BLOB NOT NULL,        -- JSON
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
