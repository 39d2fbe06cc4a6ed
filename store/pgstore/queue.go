package pgstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
)

// candidatesSQL lists schools, least recently served first, that have a job Dequeue could lease.
const candidatesSQL = `SELECT qs.school FROM queue_schools qs
WHERE NOT (qs.school = ANY($1::text[]))
  AND EXISTS (SELECT 1 FROM jobs j WHERE j.school = qs.school AND ` + eligibleSQL + `)
ORDER BY qs.served, qs.school COLLATE "C"
LIMIT 16`

// eligibleSQL is true for a job j Dequeue may lease at time $2 with kinds $3: due and waiting, or
// leased with the lease run out; of an allowed kind; and the head of its key's chain (no older
// live job of the same school and key). The redundant test that o.key is not empty lets the planner use the
// jobs_chain partial index, so the check is one index probe instead of a scan of the school.
const eligibleSQL = `((j.state = 'waiting' AND j.run_at <= $2) OR (j.state = 'leased' AND j.lease_until <= $2))
	AND (cardinality($3::text[]) = 0 OR j.kind = ANY($3::text[]))
	AND (j.key = '' OR NOT EXISTS (SELECT 1 FROM jobs o
		WHERE o.school = j.school AND o.key = j.key AND o.key <> '' AND o.state <> 'dead' AND o.seq < j.seq))`

// leaseSQL leases up to $4 eligible jobs of school $1, skipping rows other workers hold, and marks
// the school served. A job taken over from an expired lease counts an attempt, and is dead-lettered
// instead when that reaches the maximum $8 (a job that keeps killing its workers).
const leaseSQL = `WITH picked AS (
	SELECT j.id FROM jobs j
	WHERE j.school = $1 AND ` + eligibleSQL + `
	ORDER BY j.priority, j.run_at, j.id
	LIMIT $4
	FOR UPDATE SKIP LOCKED
), bump AS (
	UPDATE queue_schools SET served = nextval('serve_seq')
	WHERE school = $1 AND EXISTS (SELECT 1 FROM picked)
)
UPDATE jobs j SET
	attempts   = CASE WHEN j.state = 'leased' THEN j.attempts + 1 ELSE j.attempts END,
	last_error = CASE WHEN j.state = 'leased'
		THEN 'pgstore: the lease of worker "' || coalesce(j.leased_by, '') || '" expired before it finished'
		ELSE j.last_error END,
	dead_at    = CASE WHEN j.state = 'leased' AND j.attempts + 1 >= $8 THEN $2 END,
	lease_token = $5,
	lease_until = $6,
	leased_by  = $7,
	state      = CASE WHEN j.state = 'leased' AND j.attempts + 1 >= $8 THEN 'dead' ELSE 'leased' END
FROM picked WHERE j.id = picked.id
RETURNING j.id, j.school, j.kind, j.key, j.payload, j.priority, j.run_at, j.state, j.attempts, j.last_error,
	j.lease_until, j.enqueued_at`

// Dequeue leases up to opts.Max (0 means 1, at most MaxBatchDefault) ready jobs of one school for
// opts.Lease (LeaseDefault when zero or negative). Schools take turns: the one served least
// recently that has a ready job goes first; inside it jobs go by priority, RunAt, enqueue order.
// Rows other workers are leasing are skipped (FOR UPDATE SKIP LOCKED), so concurrent workers never
// get one job twice, and only the oldest live job of a key can be leased. A job whose lease expired
// is taken over with Attempts+1 and a LastError saying so. With opts.Kinds set, a key's oldest job
// of another kind still blocks the key's later jobs. It returns an empty slice, not an error, when
// nothing is ready (or all that is ready is being leased by racing workers at that instant);
// errors are database failures.
func (s *Store) Dequeue(ctx context.Context, opts hubsync.DequeueOptions) ([]hubsync.Job, error) {
	max := opts.Max
	if max <= 0 {
		max = 1
	}
	max = min(max, MaxBatchDefault)
	lease := opts.Lease
	if lease <= 0 {
		lease = LeaseDefault
	}
	now := s.now()
	kinds := make([]string, 0, len(opts.Kinds))
	for _, k := range opts.Kinds {
		kinds = append(kinds, string(k))
	}
	exclude := make([]string, 0, len(opts.Exclude))
	for _, e := range opts.Exclude {
		exclude = append(exclude, string(e))
	}

	rows, err := s.db.Query(ctx, candidatesSQL, exclude, now, kinds)
	if err != nil {
		return nil, fmt.Errorf("pgstore: finding schools with ready jobs: %w", err)
	}
	schools, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pgstore: finding schools with ready jobs: %w", err)
	}
	token := newLeaseToken()
	until := now.Add(lease)
	for _, school := range schools {
		jobs, err := s.lease(ctx, school, now, kinds, max, token, until, opts.Worker)
		if err != nil {
			return nil, err
		}
		if len(jobs) > 0 {
			return jobs, nil
		}
		// Everything ready there was taken by racing workers; try the next school.
	}
	return []hubsync.Job{}, nil
}

// lease runs leaseSQL for one school and returns the leased jobs in serving order.
func (s *Store) lease(ctx context.Context, school string, now time.Time, kinds []string, max int, token string, until time.Time, worker string) ([]hubsync.Job, error) {
	var jobs []hubsync.Job
	scan := func(rows pgx.Rows) error {
		var (
			j                    hubsync.Job
			sch, kind, state     string
			prio                 int16
			attempts             int32
			leaseUntil, enqueued time.Time
		)
		_, err := pgx.ForEachRow(rows, []any{&j.ID, &sch, &kind, &j.Key, &j.Payload, &prio, &j.RunAt, &state, &attempts, &j.LastError, &leaseUntil, &enqueued}, func() error {
			if state == "dead" {
				s.cfg.logger.WarnContext(ctx, "pgstore: dead-lettered a job whose leases kept expiring", "school", sch, "job", j.ID, "attempts", attempts)
				return nil
			}
			j.School, j.Kind, j.Priority, j.Attempts = hubsync.SchoolID(sch), hubsync.JobKind(kind), hubsync.Priority(prio), int(attempts)
			j.RunAt, j.LeaseUntil, j.EnqueuedAt, j.LeaseToken = j.RunAt.UTC(), leaseUntil.UTC(), enqueued.UTC(), token
			jobs = append(jobs, j)
			j = hubsync.Job{}
			return nil
		})
		return err
	}
	if err := s.jobQuery(ctx, scan, leaseSQL, school, now, kinds, max, token, until, worker, s.cfg.maxAttempts); err != nil {
		return nil, fmt.Errorf("pgstore: leasing jobs of school %q: %w", school, err)
	}
	slices.SortFunc(jobs, func(a, b hubsync.Job) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), a.RunAt.Compare(b.RunAt), cmp.Compare(a.ID, b.ID))
	})
	return jobs, nil
}

// newLeaseToken returns 128 random bits in hex.
func newLeaseToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it panics on a broken system source).
	return hex.EncodeToString(b[:])
}
