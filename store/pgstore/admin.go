package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
)

// DeadLetters lists a school's dead-lettered jobs, oldest death first, with their attempt count and
// last error.
func (s *Store) DeadLetters(ctx context.Context, school hubsync.SchoolID) ([]hubsync.Job, error) {
	rows, err := s.db.Query(ctx, `SELECT id, kind, key, payload, priority, run_at, attempts, last_error, enqueued_at
		FROM jobs WHERE school = $1 AND state = 'dead' ORDER BY dead_at, id`, string(school))
	if err != nil {
		return nil, fmt.Errorf("pgstore: listing dead letters of school %q: %w", school, err)
	}
	var (
		out      []hubsync.Job
		j        hubsync.Job
		kind     string
		prio     int16
		attempts int32
	)
	_, err = pgx.ForEachRow(rows, []any{&j.ID, &kind, &j.Key, &j.Payload, &prio, &j.RunAt, &attempts, &j.LastError, &j.EnqueuedAt}, func() error {
		j.School, j.Kind, j.Priority, j.Attempts = school, hubsync.JobKind(kind), hubsync.Priority(prio), int(attempts)
		j.RunAt, j.EnqueuedAt = j.RunAt.UTC(), j.EnqueuedAt.UTC()
		out = append(out, j)
		j = hubsync.Job{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: listing dead letters of school %q: %w", school, err)
	}
	return out, nil
}

// Replay moves a dead-lettered job back to the queue, ready at the clock's now, with Attempts and
// LastError reset. It goes to the end of its key's chain (behind jobs of the key enqueued while it
// was dead). It fails with an error wrapping hubsync.ErrNotFound when no dead job has that id.
func (s *Store) Replay(ctx context.Context, id int64) error {
	tag, err := s.db.Exec(ctx, `UPDATE jobs SET state = 'waiting', attempts = 0, last_error = '', run_at = $2,
			seq = nextval('job_seq'), dead_at = NULL, lease_token = NULL, lease_until = NULL
		WHERE id = $1 AND state = 'dead'`, id, s.now())
	if err != nil {
		return fmt.Errorf("pgstore: replaying job %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: replaying job %d: no dead job has that id: %w", id, hubsync.ErrNotFound)
	}
	return nil
}

// Stats counts a school's jobs at the clock's now: Ready (waiting and due, including those blocked
// behind an older job of their key, plus leases that expired), Scheduled (due later), Leased
// (unexpired leases) and Dead.
func (s *Store) Stats(ctx context.Context, school hubsync.SchoolID) (hubsync.QueueStats, error) {
	var ready, scheduled, leased, dead int64
	err := s.db.QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE (state = 'waiting' AND run_at <= $2) OR (state = 'leased' AND lease_until <= $2)),
			count(*) FILTER (WHERE state = 'waiting' AND run_at > $2),
			count(*) FILTER (WHERE state = 'leased' AND lease_until > $2),
			count(*) FILTER (WHERE state = 'dead')
		FROM jobs WHERE school = $1`, string(school), s.now()).Scan(&ready, &scheduled, &leased, &dead)
	if err != nil {
		return hubsync.QueueStats{}, fmt.Errorf("pgstore: counting jobs of school %q: %w", school, err)
	}
	return hubsync.QueueStats{Ready: int(ready), Scheduled: int(scheduled), Leased: int(leased), Dead: int(dead)}, nil
}

// NextRunAt returns the earliest RunAt of a waiting (not leased, not dead) job across all schools;
// ok is false when nothing waits. It may be in the past (work is ready now, or waits behind a
// leased job of its key).
func (s *Store) NextRunAt(ctx context.Context) (time.Time, bool, error) {
	var t *time.Time
	if err := s.db.QueryRow(ctx, `SELECT min(run_at) FROM jobs WHERE state = 'waiting'`).Scan(&t); err != nil {
		return time.Time{}, false, fmt.Errorf("pgstore: finding the next run time: %w", err)
	}
	if t == nil {
		return time.Time{}, false, nil
	}
	return t.UTC(), true, nil
}
