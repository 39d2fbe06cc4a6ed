-- Connection.Generation. Every PutConnection and DeleteConnection raises the school's counter
-- here, in the same transaction as the connection row it writes or deletes, so the counter
-- outlives a deleted connection. connections.generation is the counter's value when the row was
-- written; rows from before this migration have 0, below any value a write gives.
CREATE TABLE {p}connection_generations (
	school     TEXT PRIMARY KEY,
	generation INTEGER NOT NULL
) WITHOUT ROWID;

ALTER TABLE {p}connections ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
