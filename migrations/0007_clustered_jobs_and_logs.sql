-- Jobs and log lines stored in the order they are read, keyed by what
-- identifies them (WITHOUT ROWID): one B-tree each instead of a rowid table
-- plus the index every lookup went through. Every write batch appends to
-- the right edge of each B-tree it touches and rewrites that page in the
-- WAL; two fewer B-trees took a fifth off the bytes written per job.
CREATE TABLE jobs_clustered (
    id               TEXT NOT NULL PRIMARY KEY,
    flow_id          TEXT NOT NULL,
    flow_version     INTEGER NOT NULL,
    status           TEXT NOT NULL,
    entry_routine_id TEXT NOT NULL DEFAULT '',
    params           TEXT NOT NULL DEFAULT 'null',
    result           TEXT NOT NULL DEFAULT 'null',
    error            TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    completed_at     INTEGER,
    progress         REAL NOT NULL DEFAULT 0,
    current_node     TEXT NOT NULL DEFAULT '',
    nodes_completed  INTEGER NOT NULL DEFAULT 0,
    nodes_failed     INTEGER NOT NULL DEFAULT 0,
    duration         REAL NOT NULL DEFAULT 0,
    activations      INTEGER NOT NULL DEFAULT 0,
    events           INTEGER NOT NULL DEFAULT 0,
    routine_states   TEXT NOT NULL DEFAULT '{}',
    summary          TEXT
) WITHOUT ROWID;
INSERT INTO jobs_clustered (id, flow_id, flow_version, status, entry_routine_id, params, result, error,
        created_at, started_at, completed_at, progress, current_node, nodes_completed, nodes_failed,
        duration, activations, events, routine_states, summary)
    SELECT id, flow_id, flow_version, status, entry_routine_id, params, result, error,
        created_at, started_at, completed_at, progress, current_node, nodes_completed, nodes_failed,
        duration, activations, events, routine_states, summary
    FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_clustered RENAME TO jobs;
-- Job ids start with their creation time (hex milliseconds), so "newest
-- first" is ORDER BY id DESC and needs no index of its own.
CREATE INDEX jobs_by_flow ON jobs (flow_id, id);
CREATE INDEX jobs_by_status ON jobs (status, id);

-- A log line is derived from one event: (job_id, seq) names it.
CREATE TABLE logs_clustered (
    job_id     TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    time       INTEGER NOT NULL,
    level      INTEGER NOT NULL, -- 0 debug, 1 info, 2 warning, 3 error
    routine_id TEXT NOT NULL DEFAULT '',
    message    TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
INSERT OR IGNORE INTO logs_clustered (job_id, seq, time, level, routine_id, message)
    SELECT job_id, seq, time, level, routine_id, message FROM logs ORDER BY id;
DROP TABLE logs;
ALTER TABLE logs_clustered RENAME TO logs;

-- Event chunks the other way round: a rowid table with an index. In a
-- WITHOUT ROWID table a row's payload over ~1 KB (a 4 KB page's share)
-- spills into an overflow page of its own, and a chain job's chunk is
-- 1.5 KB: each chunk cost a mostly empty 4 KB page, half the bytes written
-- per job. A rowid table keeps up to ~4 KB in the leaf.
CREATE TABLE event_chunks_rowid (
    job_id    TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq  INTEGER NOT NULL,
    codec     INTEGER NOT NULL DEFAULT 0, -- 0 plain, 1 S2 block
    body      BLOB NOT NULL
);
INSERT INTO event_chunks_rowid (job_id, first_seq, last_seq, codec, body)
    SELECT job_id, first_seq, last_seq, codec, body FROM event_chunks ORDER BY job_id, first_seq;
DROP TABLE event_chunks;
ALTER TABLE event_chunks_rowid RENAME TO event_chunks;
CREATE UNIQUE INDEX event_chunks_by_job ON event_chunks (job_id, first_seq, last_seq);
