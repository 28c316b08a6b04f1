-- Breakpoints get the debugger's full shape: hit conditions, logpoints and
-- the flow breakpoint a job's copy was inherited from. The table of 0001 was
-- never written to, so it is replaced rather than altered.
--
-- A job's copies of flow breakpoints are recorded in its job_started event;
-- a copy gets a row here only once it is hit or changed, and a deleted copy
-- keeps a row with deleted = 1 so the record no longer lists it.
DROP TABLE breakpoints;
CREATE TABLE breakpoints (
    id             TEXT PRIMARY KEY,
    scope          TEXT NOT NULL CHECK (scope IN ('job', 'flow')),
    scope_id       TEXT NOT NULL,
    type           TEXT NOT NULL CHECK (type IN ('routine', 'slot', 'event')),
    routine_id     TEXT NOT NULL,
    slot           TEXT NOT NULL DEFAULT '',
    event          TEXT NOT NULL DEFAULT '',
    condition      TEXT NOT NULL DEFAULT '',
    hit_condition  TEXT NOT NULL DEFAULT '',
    log_message    TEXT NOT NULL DEFAULT '',
    enabled        INTEGER NOT NULL DEFAULT 1,
    hit_count      INTEGER NOT NULL DEFAULT 0,
    inherited_from TEXT NOT NULL DEFAULT '',
    deleted        INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);
CREATE INDEX breakpoints_by_scope ON breakpoints (scope, scope_id, created_at);
