-- hubsync SQLite schema, version 1. Times are INTEGER Unix nanoseconds (0: the zero time).
-- The names of tables and indexes in these files start with a placeholder for the store's table
-- prefix (sqlitestore.WithTablePrefix), which sqlitestore.Migrations fills in.

CREATE TABLE {p}settings (
	school     TEXT PRIMARY KEY,
	body       BLOB NOT NULL -- hubsync.Settings as JSON
) WITHOUT ROWID;

CREATE TABLE {p}connections (
	school             TEXT PRIMARY KEY,
	access_token       TEXT NOT NULL,
	refresh_token      TEXT NOT NULL,
	expiry             INTEGER NOT NULL,
	portal_id          INTEGER NOT NULL,
	domain             TEXT NOT NULL,
	active             INTEGER NOT NULL,
	deactivated_at     INTEGER NOT NULL,
	deactivated_reason TEXT NOT NULL,
	notified_at        INTEGER NOT NULL,
	connected_at       INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE {p}sync_states (
	school          TEXT NOT NULL,
	email           TEXT NOT NULL, -- lower-cased
	learner_id      TEXT NOT NULL,
	contact_id      TEXT NOT NULL,
	sent_to_hubspot TEXT NOT NULL, -- JSON object
	sent_to_lms     TEXT NOT NULL, -- JSON object
	lifecycle_stage TEXT NOT NULL,
	updated_at      INTEGER NOT NULL,
	PRIMARY KEY (school, email)
) WITHOUT ROWID;

CREATE TABLE {p}once_claims (
	school     TEXT NOT NULL,
	key        TEXT NOT NULL,
	owner      TEXT NOT NULL,
	claimed_at INTEGER NOT NULL,
	PRIMARY KEY (school, key)
) WITHOUT ROWID;

CREATE TABLE {p}webhooks_seen (
	source   TEXT NOT NULL,
	event_id TEXT NOT NULL,
	seen_at  INTEGER NOT NULL,
	PRIMARY KEY (source, event_id)
) WITHOUT ROWID;
CREATE INDEX {p}webhooks_seen_at ON {p}webhooks_seen (seen_at);

CREATE TABLE {p}checkpoints (
	school     TEXT NOT NULL,
	name       TEXT NOT NULL,
	cursor     TEXT NOT NULL,
	data       BLOB,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (school, name)
) WITHOUT ROWID;

CREATE TABLE {p}sync_log (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	school    TEXT NOT NULL,
	at        INTEGER NOT NULL,
	direction TEXT NOT NULL,
	email     TEXT NOT NULL,
	email_lc  TEXT NOT NULL,
	outcome   TEXT NOT NULL,
	reason    TEXT NOT NULL
);
CREATE INDEX {p}sync_log_school_at ON {p}sync_log (school, at DESC, id DESC);

-- One row per job until it is acked. lease_token is NULL unless leased (the lease may have
-- expired); dead_at is NULL unless dead-lettered.
CREATE TABLE {p}jobs (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	school      TEXT NOT NULL,
	kind        TEXT NOT NULL,
	key         TEXT NOT NULL,
	payload     BLOB,
	priority    INTEGER NOT NULL,
	run_at      INTEGER NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	lease_token TEXT,
	lease_until INTEGER,
	worker      TEXT,
	enqueued_at INTEGER NOT NULL,
	dead_at     INTEGER
);
CREATE INDEX {p}jobs_ready ON {p}jobs (school, priority, run_at, id) WHERE dead_at IS NULL;
CREATE INDEX {p}jobs_key ON {p}jobs (school, key, id) WHERE dead_at IS NULL AND key <> '';
CREATE INDEX {p}jobs_dead ON {p}jobs (school, dead_at, id) WHERE dead_at IS NOT NULL;
CREATE INDEX {p}jobs_waiting_run_at ON {p}jobs (run_at) WHERE dead_at IS NULL AND lease_token IS NULL;
CREATE INDEX {p}jobs_leased ON {p}jobs (lease_until) WHERE dead_at IS NULL AND lease_token IS NOT NULL;

-- Every school that ever had a job, with when Dequeue last served it (a rising sequence number,
-- 0: never), for fairness across schools.
CREATE TABLE {p}queue_schools (
	school TEXT PRIMARY KEY,
	served INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
