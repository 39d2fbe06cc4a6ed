-- hubsync pgstore schema, version 1. A template: {schema} stands for the store's quoted schema
-- (pgstore.Migrations writes it in). Every statement is idempotent, so the file can run again.

CREATE TABLE IF NOT EXISTS {schema}.settings (
    school     text PRIMARY KEY,
    data       jsonb NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS {schema}.connections (
    school             text PRIMARY KEY,
    access_token       text NOT NULL,
    refresh_token      text NOT NULL,
    expiry             timestamptz,
    portal_id          bigint NOT NULL,
    domain             text NOT NULL,
    active             boolean NOT NULL,
    deactivated_at     timestamptz,
    deactivated_reason text NOT NULL,
    notified_at        timestamptz,
    connected_at       timestamptz
);

CREATE TABLE IF NOT EXISTS {schema}.sync_state (
    school          text NOT NULL,
    email           text NOT NULL, -- lower-cased
    learner_id      text NOT NULL,
    contact_id      text NOT NULL,
    sent_hubspot    jsonb,
    sent_lms        jsonb,
    lifecycle_stage text NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (school, email)
);

CREATE TABLE IF NOT EXISTS {schema}.once_claims (
    school     text NOT NULL,
    key        text NOT NULL,
    occurrence text NOT NULL,
    claimed_at timestamptz NOT NULL,
    PRIMARY KEY (school, key)
);

CREATE TABLE IF NOT EXISTS {schema}.webhooks_seen (
    source   text NOT NULL,
    event_id text NOT NULL,
    seen_at  timestamptz NOT NULL,
    PRIMARY KEY (source, event_id)
);
CREATE INDEX IF NOT EXISTS webhooks_seen_at ON {schema}.webhooks_seen (seen_at);

CREATE TABLE IF NOT EXISTS {schema}.checkpoints (
    school     text NOT NULL,
    name       text NOT NULL,
    cursor     text NOT NULL,
    data       bytea,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (school, name)
);

CREATE TABLE IF NOT EXISTS {schema}.sync_log (
    id        bigserial PRIMARY KEY,
    school    text NOT NULL,
    at        timestamptz NOT NULL,
    direction text NOT NULL,
    email     text NOT NULL,
    outcome   text NOT NULL,
    reason    text NOT NULL
);
CREATE INDEX IF NOT EXISTS sync_log_school_at ON {schema}.sync_log (school, at DESC, id DESC);

-- The queue. state: 'waiting' (in the queue, due at run_at), 'leased' (a worker holds it until
-- lease_until, and after that it is ready again), 'dead' (dead-lettered). seq orders the jobs of
-- one (school, key) chain, and Replay gives a job a new seq so it goes to the chain's end.
CREATE SEQUENCE IF NOT EXISTS {schema}.job_seq;
CREATE TABLE IF NOT EXISTS {schema}.jobs (
    id          bigserial PRIMARY KEY,
    seq         bigint NOT NULL DEFAULT nextval('{schema}.job_seq'),
    school      text NOT NULL,
    kind        text NOT NULL,
    key         text NOT NULL,
    payload     bytea,
    priority    smallint NOT NULL,
    run_at      timestamptz NOT NULL,
    state       text NOT NULL CHECK (state IN ('waiting', 'leased', 'dead')),
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text NOT NULL DEFAULT '',
    lease_token text,
    lease_until timestamptz,
    leased_by   text,
    enqueued_at timestamptz NOT NULL,
    dead_at     timestamptz
);
-- Dequeue's scan inside one school, in serving order.
CREATE INDEX IF NOT EXISTS jobs_serve ON {schema}.jobs (school, priority, run_at, id) WHERE state <> 'dead';
-- Key chains: the head check and the coalescing target.
CREATE INDEX IF NOT EXISTS jobs_chain ON {schema}.jobs (school, key, seq) WHERE state <> 'dead' AND key <> '';
CREATE INDEX IF NOT EXISTS jobs_dead ON {schema}.jobs (school, dead_at, id) WHERE state = 'dead';
CREATE INDEX IF NOT EXISTS jobs_waiting_run_at ON {schema}.jobs (run_at) WHERE state = 'waiting';

-- Round-robin fairness: served is bumped from serve_seq each time Dequeue serves the school.
CREATE SEQUENCE IF NOT EXISTS {schema}.serve_seq;
CREATE TABLE IF NOT EXISTS {schema}.queue_schools (
    school text PRIMARY KEY,
    served bigint NOT NULL DEFAULT 0
);
