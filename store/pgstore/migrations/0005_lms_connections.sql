-- Each school's LMS (LearnWorlds) connection, so one serve needs no per-school flags
-- (hubsync.LMSConnection). client_secret, access_token and webhook_secret hold the stored form:
-- sealed ("sealed:" and base64url) when the store has a Sealer, plain otherwise; '' when unset.
CREATE TABLE IF NOT EXISTS {schema}.lms_connections (
    school         text PRIMARY KEY,
    base_url       text NOT NULL,
    client_id      text NOT NULL,
    client_secret  text NOT NULL,
    access_token   text NOT NULL,
    webhook_secret text NOT NULL,
    webhook_scheme text NOT NULL,
    updated_at     timestamptz NOT NULL
);
