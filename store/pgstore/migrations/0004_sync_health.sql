-- Sync health (hubsync.HealthEntry): one row per learner and direction that is not in sync
-- (excluded or failing). A learner whose next sync succeeds loses its row, so a school whose
-- learners are all in sync keeps none. learner_id is '' unless the learner has no email.
CREATE TABLE IF NOT EXISTS {schema}.sync_health (
    school     text NOT NULL,
    email      text NOT NULL,
    learner_id text NOT NULL,
    direction  text NOT NULL,
    status     text NOT NULL,
    exclusion  text NOT NULL,
    reason     text NOT NULL,
    at         timestamptz NOT NULL,
    PRIMARY KEY (school, email, learner_id, direction)
);
