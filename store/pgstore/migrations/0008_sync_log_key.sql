-- sync_log keeps one index, its primary key (school, at, id), instead of three (the primary key
-- id, sync_log_school_at and sync_log_at): every list of a school's log reads it backwards from
-- the school's newest entry, and the retention (SyncLogForget) walks it school by school. The
-- index is built once, under an ACCESS EXCLUSIVE lock (see docs/operations.md, "Upgrading"). The
-- check on the key's width makes the migration idempotent.
DO $$
BEGIN
    IF (SELECT indnatts FROM pg_index WHERE indrelid = '{schema}.sync_log'::regclass AND indisprimary) = 1 THEN
        ALTER TABLE {schema}.sync_log DROP CONSTRAINT sync_log_pkey, ADD CONSTRAINT sync_log_pkey PRIMARY KEY (school, at, id);
    END IF;
END $$;
DROP INDEX IF EXISTS {schema}.sync_log_school_at;
DROP INDEX IF EXISTS {schema}.sync_log_at;
