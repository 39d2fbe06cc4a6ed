package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/hubsync/hubsync"
)

// Ack completes a job by deleting it. It fails with an error wrapping hubsync.ErrLeaseLost when j's
// lease is no longer the job's (another worker took the job over after the lease expired, the job
// was already acked, retried or released); an expired lease nobody took over still acks.
func (s *Store) Ack(ctx context.Context, j hubsync.Job) error {
	tag, err := s.jobExec(ctx, `DELETE FROM jobs WHERE id = $1 AND state = 'leased' AND lease_token = $2`, j.ID, j.LeaseToken)
	if err != nil {
		return fmt.Errorf("pgstore: acking job %d: %w", j.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: acking job %d: %w", j.ID, hubsync.ErrLeaseLost)
	}
	return nil
}

// Retry gives a job back to run again at runAt (a zero runAt means now), counting the attempt and
// recording cause as its LastError. When the count reaches the configured maximum attempts the job
// is dead-lettered instead. The job keeps its place at the head of its key's chain, so later jobs
// of the key still wait for it. ErrLeaseLost as Ack.
func (s *Store) Retry(ctx context.Context, j hubsync.Job, runAt time.Time, cause string) error {
	now := s.now()
	if runAt.IsZero() {
		runAt = now
	}
	tag, err := s.jobExec(ctx, `UPDATE jobs SET
			attempts    = attempts + 1,
			last_error  = $3,
			state       = CASE WHEN attempts + 1 >= $6 THEN 'dead' ELSE 'waiting' END,
			run_at      = CASE WHEN attempts + 1 >= $6 THEN run_at ELSE $4 END,
			dead_at     = CASE WHEN attempts + 1 >= $6 THEN $5::timestamptz END,
			lease_token = NULL, lease_until = NULL
		WHERE id = $1 AND state = 'leased' AND lease_token = $2`,
		j.ID, j.LeaseToken, cause, runAt.UTC(), now, s.cfg.maxAttempts)
	if err != nil {
		return fmt.Errorf("pgstore: retrying job %d: %w", j.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: retrying job %d: %w", j.ID, hubsync.ErrLeaseLost)
	}
	return nil
}

// Release gives a leased job back without counting an attempt, to run again at runAt (zero: now).
// ErrLeaseLost as Ack.
func (s *Store) Release(ctx context.Context, j hubsync.Job, runAt time.Time) error {
	if runAt.IsZero() {
		runAt = s.now()
	}
	tag, err := s.jobExec(ctx, `UPDATE jobs SET state = 'waiting', run_at = $3, lease_token = NULL, lease_until = NULL
		WHERE id = $1 AND state = 'leased' AND lease_token = $2`, j.ID, j.LeaseToken, runAt.UTC())
	if err != nil {
		return fmt.Errorf("pgstore: releasing job %d: %w", j.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: releasing job %d: %w", j.ID, hubsync.ErrLeaseLost)
	}
	return nil
}

// Kill dead-letters a leased job at once, whatever its attempt count: the attempt counts and
// cause becomes its LastError. Like any dead job it no longer blocks its key's later jobs, and
// Replay brings it back. ErrLeaseLost as Ack.
func (s *Store) Kill(ctx context.Context, j hubsync.Job, cause string) error {
	tag, err := s.jobExec(ctx, `UPDATE jobs SET attempts = attempts + 1, last_error = $3, state = 'dead', dead_at = $4,
			lease_token = NULL, lease_until = NULL
		WHERE id = $1 AND state = 'leased' AND lease_token = $2`,
		j.ID, j.LeaseToken, cause, s.now())
	if err != nil {
		return fmt.Errorf("pgstore: killing job %d: %w", j.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: killing job %d: %w", j.ID, hubsync.ErrLeaseLost)
	}
	return nil
}
