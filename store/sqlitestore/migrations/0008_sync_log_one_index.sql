-- sync_log keeps one index, sync_log_school_at: the retention (SyncLogForget) walks it school by
-- school instead of reading an index of its own on the time, which cost every entry its time
-- and row id a second time.
DROP INDEX IF EXISTS {p}sync_log_at;
