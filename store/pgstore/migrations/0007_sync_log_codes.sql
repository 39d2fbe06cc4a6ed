-- sync_log.outcome and sync_log.direction become smallint codes (the tables are in synclog.go:
-- outcome created 1, updated 2, unchanged 3, skipped 4, failed 5; direction to_hubspot 1, to_lms
-- 2, both 3; the empty value 0), two bytes a row instead of the words. A value no hubsync writes
-- (a host's own call of AppendSyncLog, before the store refused them) becomes 0, and its text goes
-- at the start of the row's reason, so nothing read before is lost. The table is rewritten once,
-- under an ACCESS EXCLUSIVE lock (see docs/operations.md, "Upgrading"). The check on the column's
-- type makes the migration idempotent.
DO $$
BEGIN
    IF (SELECT atttypid FROM pg_attribute
        WHERE attrelid = '{schema}.sync_log'::regclass AND attname = 'outcome') = 'text'::regtype THEN
        ALTER TABLE {schema}.sync_log
            ALTER COLUMN reason TYPE text USING
                CASE WHEN outcome NOT IN ('', 'created', 'updated', 'unchanged', 'skipped', 'failed')
                    THEN '(outcome ' || quote_literal(outcome) || ') ' ELSE '' END ||
                CASE WHEN direction NOT IN ('', 'to_hubspot', 'to_lms', 'both')
                    THEN '(direction ' || quote_literal(direction) || ') ' ELSE '' END || reason,
            ALTER COLUMN outcome TYPE smallint USING
                CASE outcome WHEN 'created' THEN 1 WHEN 'updated' THEN 2 WHEN 'unchanged' THEN 3
                    WHEN 'skipped' THEN 4 WHEN 'failed' THEN 5 ELSE 0 END,
            ALTER COLUMN direction TYPE smallint USING
                CASE direction WHEN 'to_hubspot' THEN 1 WHEN 'to_lms' THEN 2 WHEN 'both' THEN 3 ELSE 0 END;
    END IF;
END $$;
