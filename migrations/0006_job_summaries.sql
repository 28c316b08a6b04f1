-- A finished job's event totals (events.Summary as JSON), written with its
-- record when it ends, so its metrics are read rather than recomputed from
-- its log. NULL for jobs that ended before this column, or whose summary
-- began mid-log (after a crash): their metrics are computed from the log.
ALTER TABLE jobs ADD COLUMN summary TEXT;
