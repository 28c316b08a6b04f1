-- A job's "job started (flow …)" and "job completed in …s" log lines are
-- rebuilt from its record when its logs are read (store.derivedLines) and
-- no longer stored: the stored copies of older jobs would show twice.
DELETE FROM logs WHERE routine_id = '' AND (
    (seq = 1 AND message LIKE 'job started (flow %)')
    OR message LIKE 'job completed in %s'
);
