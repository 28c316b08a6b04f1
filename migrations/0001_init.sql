-- Flows: the current head of each flow; every stored definition is a row of
-- flow_versions, so jobs can always load the exact version they ran.
CREATE TABLE flows (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL DEFAULT '',
    description   TEXT NOT NULL DEFAULT '',
    version       INTEGER NOT NULL,
    routine_count INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL, -- unix nanoseconds, as every time column
    updated_at    INTEGER NOT NULL,
    deleted_at    INTEGER
);

CREATE TABLE flow_versions (
    flow_id    TEXT NOT NULL,
    version    INTEGER NOT NULL,
    definition TEXT NOT NULL, -- JSON
    created_at INTEGER NOT NULL,
    PRIMARY KEY (flow_id, version)
) WITHOUT ROWID;

-- Jobs: written from the event log's job snapshots (job_* events).
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
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
    routine_states   TEXT NOT NULL DEFAULT '{}'
);
-- Job ids start with their creation time (hex milliseconds), so "newest
-- first" is ORDER BY id DESC and needs no index of its own.
CREATE INDEX jobs_by_flow ON jobs (flow_id, id);
CREATE INDEX jobs_by_status ON jobs (status, id);

-- The event log, stored as chunks: each row holds consecutive events of one
-- job (first_seq..last_seq) as newline-separated JSON, compressed with S2
-- when codec = 1. One row per job per write batch keeps the write rate far
-- above one-row-per-event.
CREATE TABLE event_chunks (
    job_id    TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq  INTEGER NOT NULL,
    codec     INTEGER NOT NULL DEFAULT 0, -- 0 plain, 1 S2 block
    body      BLOB NOT NULL,
    PRIMARY KEY (job_id, first_seq)
) WITHOUT ROWID;

-- Log lines, derived from log events and job/routine lifecycle events, kept
-- in their own table so they can be filtered by level, routine and text.
CREATE TABLE logs (
    id         INTEGER PRIMARY KEY,
    job_id     TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    time       INTEGER NOT NULL,
    level      INTEGER NOT NULL, -- 0 debug, 1 info, 2 warning, 3 error
    routine_id TEXT NOT NULL DEFAULT '',
    message    TEXT NOT NULL
);
CREATE INDEX logs_by_job ON logs (job_id, seq);

-- Breakpoints of the debugger, per job or per flow (copied to each new job).
CREATE TABLE breakpoints (
    id         TEXT PRIMARY KEY,
    scope      TEXT NOT NULL CHECK (scope IN ('job', 'flow')),
    scope_id   TEXT NOT NULL,
    type       TEXT NOT NULL CHECK (type IN ('routine', 'slot', 'event')),
    routine_id TEXT NOT NULL,
    slot       TEXT NOT NULL DEFAULT '',
    event      TEXT NOT NULL DEFAULT '',
    condition  TEXT NOT NULL DEFAULT '',
    enabled    INTEGER NOT NULL DEFAULT 1,
    hit_count  INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX breakpoints_by_scope ON breakpoints (scope, scope_id);
