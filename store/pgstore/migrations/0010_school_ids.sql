-- The three tables with a row per learner (sync_state, sync_log, sync_health) name their school by
-- a number, the school's id in the new table schools, instead of its text, and put their columns
-- in an order that leaves no alignment padding (the 8-byte ones first, then the 4-, then the
-- 2-byte ones, the texts last). Their column school keeps its name, now holding that id (so the
-- older migrations, each run again, still find the column they name). sync_log's one index
-- becomes (school, at), not unique: the entries of one sync batch share their time, and
-- PostgreSQL then stores the key once for all of them (B-tree deduplication), about 8 bytes an
-- entry instead of 50 (an entry alone at its time keeps a key of its own, about 32); the order of
-- entries with equal times (id) is sorted from the index's rows. Together, in the benchmark
-- StoreBytesPerLearner: 465 -> 394 bytes per learner.
--
-- A school's id never changes and its row is never deleted: the store reads it once per
-- process. The tables are rewritten once, under an ACCESS EXCLUSIVE lock on the three (see
-- docs/operations.md, "Upgrading"). The check on the column's type makes the migration
-- idempotent.
CREATE TABLE IF NOT EXISTS {schema}.schools (
    id     integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    school text NOT NULL UNIQUE
);
DO $$
BEGIN
    IF (SELECT atttypid FROM pg_attribute
        WHERE attrelid = '{schema}.sync_state'::regclass AND attname = 'school') = 'text'::regtype THEN
        LOCK TABLE {schema}.sync_state, {schema}.sync_log, {schema}.sync_health IN ACCESS EXCLUSIVE MODE;
        -- The schools named, one index probe each (the three primary keys lead with the school).
        INSERT INTO {schema}.schools (school)
            WITH RECURSIVE
                st (school) AS (
                    (SELECT school FROM {schema}.sync_state ORDER BY school LIMIT 1)
                    UNION ALL
                    SELECT (SELECT x.school FROM {schema}.sync_state x WHERE x.school > st.school ORDER BY x.school LIMIT 1)
                    FROM st WHERE st.school IS NOT NULL),
                lg (school) AS (
                    (SELECT school FROM {schema}.sync_log ORDER BY school LIMIT 1)
                    UNION ALL
                    SELECT (SELECT x.school FROM {schema}.sync_log x WHERE x.school > lg.school ORDER BY x.school LIMIT 1)
                    FROM lg WHERE lg.school IS NOT NULL),
                hl (school) AS (
                    (SELECT school FROM {schema}.sync_health ORDER BY school LIMIT 1)
                    UNION ALL
                    SELECT (SELECT x.school FROM {schema}.sync_health x WHERE x.school > hl.school ORDER BY x.school LIMIT 1)
                    FROM hl WHERE hl.school IS NOT NULL)
            SELECT school FROM (SELECT school FROM st UNION SELECT school FROM lg UNION SELECT school FROM hl) u
            WHERE school IS NOT NULL
            ORDER BY school
            ON CONFLICT (school) DO NOTHING;

        CREATE TABLE {schema}.sync_state_0010 (
            updated_at      timestamptz NOT NULL,
            school          integer NOT NULL, -- schools.id
            email           text NOT NULL,    -- lower-cased
            learner_id      text NOT NULL,
            contact_id      text NOT NULL,
            lifecycle_stage text NOT NULL,
            sent_hubspot    bytea,
            sent_lms        bytea
        );
        INSERT INTO {schema}.sync_state_0010
            SELECT s.updated_at, k.id, s.email, s.learner_id, s.contact_id, s.lifecycle_stage, s.sent_hubspot, s.sent_lms
            FROM {schema}.sync_state s JOIN {schema}.schools k ON k.school = s.school;
        DROP TABLE {schema}.sync_state;
        ALTER TABLE {schema}.sync_state_0010 RENAME TO sync_state;
        ALTER TABLE {schema}.sync_state ADD CONSTRAINT sync_state_pkey PRIMARY KEY (school, email);

        CREATE TABLE {schema}.sync_log_0010 (
            id        bigint NOT NULL DEFAULT nextval('{schema}.sync_log_id_seq'),
            at        timestamptz NOT NULL,
            school    integer NOT NULL, -- schools.id
            direction smallint NOT NULL,
            outcome   smallint NOT NULL,
            email     text NOT NULL,
            reason    text NOT NULL
        );
        INSERT INTO {schema}.sync_log_0010
            SELECT l.id, l.at, k.id, l.direction, l.outcome, l.email, l.reason
            FROM {schema}.sync_log l JOIN {schema}.schools k ON k.school = l.school
            ORDER BY l.id;
        ALTER SEQUENCE {schema}.sync_log_id_seq OWNED BY {schema}.sync_log_0010.id;
        DROP TABLE {schema}.sync_log;
        ALTER TABLE {schema}.sync_log_0010 RENAME TO sync_log;
        CREATE INDEX sync_log_school_time ON {schema}.sync_log (school, at);
        -- No primary key: a logical replication publication of every table (FOR ALL TABLES)
        -- would refuse the retention's deletes without this; it costs nothing without one.
        ALTER TABLE {schema}.sync_log REPLICA IDENTITY FULL;

        CREATE TABLE {schema}.sync_health_0010 (
            at         timestamptz NOT NULL,
            school     integer NOT NULL, -- schools.id
            email      text NOT NULL,
            learner_id text NOT NULL,
            direction  text NOT NULL,
            status     text NOT NULL,
            exclusion  text NOT NULL,
            reason     text NOT NULL
        );
        INSERT INTO {schema}.sync_health_0010
            SELECT h.at, k.id, h.email, h.learner_id, h.direction, h.status, h.exclusion, h.reason
            FROM {schema}.sync_health h JOIN {schema}.schools k ON k.school = h.school;
        DROP TABLE {schema}.sync_health;
        ALTER TABLE {schema}.sync_health_0010 RENAME TO sync_health;
        ALTER TABLE {schema}.sync_health ADD CONSTRAINT sync_health_pkey PRIMARY KEY (school, email, learner_id, direction);
    END IF;
END $$;
