-- A sync state's sent maps are stored in the store's compact binary form (package sqlstore,
-- sentcodec.go: a version byte first) instead of jsonb, whose per-entry headers and key strings
-- cost more than the values themselves. The rows written before keep their JSON, as its text's
-- bytes: the store still reads those (JSON never starts with the version byte) and writes the
-- binary form the next time it stores the state. The check makes the migration idempotent: on a
-- bytea column, the conversion would read the bytes' hex text as JSON.
DO $$
BEGIN
    IF (SELECT atttypid FROM pg_attribute
        WHERE attrelid = '{schema}.sync_state'::regclass AND attname = 'sent_hubspot') = 'jsonb'::regtype THEN
        ALTER TABLE {schema}.sync_state
            ALTER COLUMN sent_hubspot TYPE bytea USING convert_to(sent_hubspot::text, 'UTF8'),
            ALTER COLUMN sent_lms TYPE bytea USING convert_to(sent_lms::text, 'UTF8');
    END IF;
END $$;
