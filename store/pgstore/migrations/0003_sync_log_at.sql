-- ForgetSyncLogBefore deletes the entries of every school older than a time, and sync_log_school_at
-- leads with the school, so the retention needs an index of its own on the time. (Building it
-- holds writes to sync_log until it is done: the migration runs in one transaction, where
-- CREATE INDEX CONCURRENTLY cannot.)
CREATE INDEX IF NOT EXISTS sync_log_at ON {schema}.sync_log (at);
