-- Connection.Generation. Every PutConnection and DeleteConnection raises the school's counter
-- here, in the same statement that writes or deletes its connection row, so the counter outlives
-- a deleted connection and racing writers, which queue on the counter's row lock, each get their
-- own value. connections.generation is the counter's value when the row was written (rows from
-- before this migration have 0, below any value a write gives).
CREATE TABLE IF NOT EXISTS {schema}.connection_generations (
    school     text PRIMARY KEY,
    generation bigint NOT NULL
);

ALTER TABLE {schema}.connections ADD COLUMN IF NOT EXISTS generation bigint NOT NULL DEFAULT 0;
