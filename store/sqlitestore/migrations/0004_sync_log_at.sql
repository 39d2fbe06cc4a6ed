-- ForgetSyncLogBefore deletes the entries of every school older than a time; sync_log_school_at
-- leads with the school, so the retention needs an index of its own on the time.
CREATE INDEX {p}sync_log_at ON {p}sync_log (at);
