-- Each school's LMS (LearnWorlds) connection, so one serve needs no per-school flags
-- (hubsync.LMSConnection). client_secret, access_token and webhook_secret hold the stored form:
-- sealed ("sealed:" and base64url) when the store has a Sealer, plain otherwise; '' when unset.
-- updated_at is Unix nanoseconds, as every time of this store.
CREATE TABLE {p}lms_connections (
	school         TEXT PRIMARY KEY,
	base_url       TEXT NOT NULL,
	client_id      TEXT NOT NULL,
	client_secret  TEXT NOT NULL,
	access_token   TEXT NOT NULL,
	webhook_secret TEXT NOT NULL,
	webhook_scheme TEXT NOT NULL,
	updated_at     INTEGER NOT NULL
) WITHOUT ROWID;
