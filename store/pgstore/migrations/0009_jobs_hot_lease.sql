-- A lease leaves every index of jobs alone, so PostgreSQL writes it as a HOT update (a new row
-- version on the same page, no index entry): the indexes' predicates test dead_at, NULL unless
-- the job is dead-lettered, instead of state, which every lease flips from 'waiting' to 'leased'
-- (a column an index or its predicate names makes every update of it write one entry per index).
-- The check makes dead_at and state agree. fillfactor leaves a page room for the leased versions
-- of its rows; it applies to pages written from now on. Autovacuum visits the table sooner than
-- the server's defaults: a queue deletes every row it inserts, and the planner needs fresh counts.
-- Everything runs under an ACCESS EXCLUSIVE lock on jobs (see docs/operations.md, "Upgrading");
-- the names of the new indexes make the migration idempotent.
UPDATE {schema}.jobs SET dead_at = enqueued_at WHERE state = 'dead' AND dead_at IS NULL;
UPDATE {schema}.jobs SET dead_at = NULL WHERE state <> 'dead' AND dead_at IS NOT NULL;
ALTER TABLE {schema}.jobs DROP CONSTRAINT IF EXISTS jobs_dead_at_check;
ALTER TABLE {schema}.jobs ADD CONSTRAINT jobs_dead_at_check CHECK ((state = 'dead') = (dead_at IS NOT NULL));
ALTER TABLE {schema}.jobs SET (fillfactor = 70,
    autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.02, autovacuum_vacuum_insert_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 1000);
-- Dequeue's scan inside one school, in serving order (was jobs_serve). Its school is in the "C"
-- collation, which only Dequeue's statements name, so the planner cannot take it for the
-- statements that probe a key chain: without statistics (a new or just emptied table) it rates
-- both indexes alike for them, and this one costs a scan of the school.
CREATE INDEX IF NOT EXISTS jobs_live ON {schema}.jobs (school COLLATE "C", priority, run_at, id) WHERE dead_at IS NULL;
-- Key chains: the head check and the coalescing target (was jobs_chain).
CREATE INDEX IF NOT EXISTS jobs_live_chain ON {schema}.jobs (school, key, seq) WHERE dead_at IS NULL AND key <> '';
-- A school's dead letters (was jobs_dead).
CREATE INDEX IF NOT EXISTS jobs_dead_letters ON {schema}.jobs (school, dead_at, id) WHERE dead_at IS NOT NULL;
-- NextRunAt's earliest waiting job (was jobs_waiting_run_at): it skips the leased ones.
CREATE INDEX IF NOT EXISTS jobs_live_run_at ON {schema}.jobs (run_at) WHERE dead_at IS NULL;
DROP INDEX IF EXISTS {schema}.jobs_serve;
DROP INDEX IF EXISTS {schema}.jobs_chain;
DROP INDEX IF EXISTS {schema}.jobs_dead;
DROP INDEX IF EXISTS {schema}.jobs_waiting_run_at;
