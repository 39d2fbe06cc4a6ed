-- Sync health (hubsync.HealthEntry): one row per learner and direction that is not in sync
-- (excluded or failing); a learner whose next sync succeeds loses its row, so a school whose
-- learners are all in sync keeps none. learner_id is '' unless the learner has no email.
CREATE TABLE {p}sync_health (
	school     TEXT NOT NULL,
	email      TEXT NOT NULL,
	learner_id TEXT NOT NULL,
	direction  TEXT NOT NULL,
	status     TEXT NOT NULL,
	exclusion  TEXT NOT NULL,
	reason     TEXT NOT NULL,
	at         INTEGER NOT NULL,
	PRIMARY KEY (school, email, learner_id, direction)
) WITHOUT ROWID;
