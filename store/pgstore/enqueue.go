package pgstore

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
)

// enqueueKeyed merges into the tail of the job's (school, key) chain when that tail waits (is not
// leased), and inserts a new job otherwise. The caller holds the key's advisory lock, so two
// enqueues of one key never both insert. FOR UPDATE waits for a Dequeue leasing the tail, and then
// sees it leased, so a leased job's payload is never swapped.
const enqueueKeyedSQL = `WITH tail AS (
	SELECT id, state FROM jobs
	WHERE school = $1 AND key = $3 AND key <> '' AND state <> 'dead' -- key <> '': use jobs_chain
	ORDER BY seq DESC LIMIT 1
	FOR UPDATE
), merged AS (
	UPDATE jobs SET kind = $2, payload = $4, priority = LEAST(jobs.priority, $5), run_at = LEAST(jobs.run_at, $6)
	FROM tail WHERE jobs.id = tail.id AND tail.state = 'waiting'
	RETURNING jobs.id
)
INSERT INTO jobs (school, kind, key, payload, priority, run_at, state, enqueued_at)
SELECT $1, $2, $3, $4, $5, $6, 'waiting', $7
WHERE NOT EXISTS (SELECT 1 FROM merged)`

const enqueuePlainSQL = `INSERT INTO jobs (school, kind, key, payload, priority, run_at, state, enqueued_at)
VALUES ($1, $2, '', $3, $4, $5, 'waiting', $6)`

// Enqueue adds jobs durably, all or none, coalescing by JobSpec.Key: a job with a key merges into
// the last job of its (school, key) chain when that one waits (new Kind and Payload, the earlier
// RunAt, the higher priority, its Attempts kept), and otherwise queues behind it. A zero RunAt means
// the clock's now. The whole batch is checked first: an empty School or Kind, or a Priority other
// than PriorityLive or PriorityBackfill, fails the call naming the job, and nothing is enqueued.
// Database errors are returned wrapped; deadlocks between concurrent batches are retried.
func (s *Store) Enqueue(ctx context.Context, jobs ...hubsync.JobSpec) error {
	if len(jobs) == 0 {
		return nil
	}
	if err := validateSpecs(jobs); err != nil {
		return err
	}
	now := s.now()
	var locks []int64
	var schools []string
	for _, j := range jobs {
		if j.Key != "" {
			locks = append(locks, s.keyLock(j.School, j.Key))
		}
		schools = append(schools, string(j.School))
	}
	// Locks and school rows are taken in sorted order so concurrent batches cannot deadlock on them.
	slices.Sort(locks)
	locks = slices.Compact(locks)
	slices.Sort(schools)
	schools = slices.Compact(schools)

	b := &pgx.Batch{}
	if len(locks) > 0 {
		b.Queue(`SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k`, locks)
	}
	b.Queue(`INSERT INTO queue_schools (school) SELECT unnest($1::text[]) ON CONFLICT (school) DO NOTHING`, schools)
	for _, j := range jobs {
		runAt := j.RunAt
		if runAt.IsZero() {
			runAt = now
		}
		if j.Key != "" {
			b.Queue(enqueueKeyedSQL, string(j.School), string(j.Kind), j.Key, j.Payload, int16(j.Priority), runAt.UTC(), now)
		} else {
			b.Queue(enqueuePlainSQL, string(j.School), string(j.Kind), j.Payload, int16(j.Priority), runAt.UTC(), now)
		}
	}
	send := func(db dbtx) error {
		// On the pool a batch runs in one implicit transaction (one Sync), so it is all or nothing;
		// inside RunInTx it is part of the caller's transaction.
		return db.SendBatch(ctx, b).Close()
	}
	var err error
	if s.pool == nil {
		err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error { return send(tx) })
	} else {
		for attempt := 0; ; attempt++ {
			err = send(s.db)
			if err == nil || attempt >= 4 || !retryable(err) {
				break
			}
			s.cfg.logger.DebugContext(ctx, "pgstore: retrying Enqueue", "attempt", attempt+1, "err", err)
		}
	}
	if err != nil {
		return fmt.Errorf("pgstore: enqueueing %d jobs: %w", len(jobs), err)
	}
	return nil
}

func validateSpecs(jobs []hubsync.JobSpec) error {
	if err := hubsync.ValidateJobs(jobs); err != nil {
		return fmt.Errorf("pgstore: enqueue: %w", err)
	}
	return nil
}

// keyLock is the advisory lock id of one (schema, school, key) chain. A hash collision only makes
// two chains' enqueues wait for each other.
func (s *Store) keyLock(school hubsync.SchoolID, key string) int64 {
	h := fnv.New64a()
	h.Write([]byte(s.cfg.schema))
	h.Write([]byte{0})
	h.Write([]byte(school))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return int64(h.Sum64())
}
