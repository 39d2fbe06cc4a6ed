package pgstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
)

// enqueueKeyed merges into the tail of the job's (school, key) chain when that tail waits (is not
// leased), and inserts a new job otherwise. The caller holds the key's advisory lock, so two
// enqueues of one key never both insert. FOR UPDATE waits for a Dequeue leasing the tail, and then
// sees it leased, so a leased job's payload is never swapped.
var enqueueKeyedSQL = sqlStmt(`WITH tail AS (
	SELECT id, state FROM {schema}.jobs
	WHERE school = $1 AND key = $3 AND key <> '' AND state <> 'dead' -- key <> '': use jobs_chain
	ORDER BY seq DESC LIMIT 1
	FOR UPDATE
), merged AS (
	UPDATE {schema}.jobs SET kind = $2, payload = $4, priority = LEAST(jobs.priority, $5), run_at = LEAST(jobs.run_at, $6)
	FROM tail WHERE jobs.id = tail.id AND tail.state = 'waiting'
	RETURNING jobs.id
)
INSERT INTO {schema}.jobs (school, kind, key, payload, priority, run_at, state, enqueued_at)
SELECT $1, $2, $3, $4, $5, $6, 'waiting', $7
WHERE NOT EXISTS (SELECT 1 FROM merged)`)

var enqueuePlainSQL = sqlStmt(`INSERT INTO {schema}.jobs (school, kind, key, payload, priority, run_at, state, enqueued_at)
VALUES ($1, $2, '', $3, $4, $5, 'waiting', $6)`)

var queueSchoolsSQL = sqlStmt(`INSERT INTO {schema}.queue_schools (school) SELECT unnest($1::text[]) ON CONFLICT (school) DO NOTHING`)

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
	b.Queue(s.sql(queueSchoolsSQL), schools)
	for _, j := range jobs {
		runAt := j.RunAt
		if runAt.IsZero() {
			runAt = now
		}
		if j.Key != "" {
			b.Queue(s.sql(enqueueKeyedSQL), string(j.School), string(j.Kind), j.Key, j.Payload, int16(j.Priority), runAt.UTC(), now)
		} else {
			b.Queue(s.sql(enqueuePlainSQL), string(j.School), string(j.Kind), j.Payload, int16(j.Priority), runAt.UTC(), now)
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
		return interpretError(fmt.Sprintf("enqueueing %d jobs", len(jobs)), err)
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

// candidatesSQL lists schools, least recently served first, that have a job Dequeue could lease.
var candidatesSQL = sqlStmt(`SELECT qs.school FROM {schema}.queue_schools qs
WHERE NOT (qs.school = ANY($1::text[]))
  AND EXISTS (SELECT 1 FROM {schema}.jobs j WHERE j.school = qs.school AND ` + eligibleSQL + `)
ORDER BY qs.served, qs.school COLLATE "C"
LIMIT 16`)

// eligibleSQL is true for a job j Dequeue may lease at time $2 with kinds $3: due and waiting, or
// leased with the lease run out; of an allowed kind; and the head of its key's chain (no older
// live job of the same school and key). The redundant test that o.key is not empty lets the planner use the
// jobs_chain partial index, so the check is one index probe instead of a scan of the school.
const eligibleSQL = `((j.state = 'waiting' AND j.run_at <= $2) OR (j.state = 'leased' AND j.lease_until <= $2))
	AND (cardinality($3::text[]) = 0 OR j.kind = ANY($3::text[]))
	AND (j.key = '' OR NOT EXISTS (SELECT 1 FROM {schema}.jobs o
		WHERE o.school = j.school AND o.key = j.key AND o.key <> '' AND o.state <> 'dead' AND o.seq < j.seq))`

// leaseSQL leases up to $4 eligible jobs of school $1, skipping rows other workers hold, and marks
// the school served. A job taken over from an expired lease counts an attempt, and is dead-lettered
// instead when that reaches the maximum $8 (a job that keeps killing its workers).
var leaseSQL = sqlStmt(`WITH picked AS (
	SELECT j.id FROM {schema}.jobs j
	WHERE j.school = $1 AND ` + eligibleSQL + `
	ORDER BY j.priority, j.run_at, j.id
	LIMIT $4
	FOR UPDATE SKIP LOCKED
), bump AS (
	UPDATE {schema}.queue_schools SET served = nextval('{schema}.serve_seq')
	WHERE school = $1 AND EXISTS (SELECT 1 FROM picked)
)
UPDATE {schema}.jobs j SET
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
	j.lease_until, j.enqueued_at`)

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

	rows, err := s.db.Query(ctx, s.sql(candidatesSQL), exclude, now, kinds)
	if err != nil {
		return nil, interpretError("finding schools with ready jobs", err)
	}
	schools, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, interpretError("finding schools with ready jobs", err)
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
	if err := s.jobQuery(ctx, scan, s.sql(leaseSQL), school, now, kinds, max, token, until, worker, s.cfg.maxAttempts); err != nil {
		return nil, interpretError(fmt.Sprintf("leasing jobs of school %q", school), err)
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

// execLeased runs one job-lifecycle statement guarded by j's lease (through jobExec, so
// WithAsyncAcks applies) and fails with an error wrapping hubsync.ErrLeaseLost when it touched
// no row.
func (s *Store) execLeased(ctx context.Context, op string, j hubsync.Job, sql string, args ...any) error {
	tag, err := s.jobExec(ctx, sql, args...)
	if err != nil {
		return interpretError(fmt.Sprintf("%s job %d", op, j.ID), err)
	}
	if tag.RowsAffected() == 0 {
		return leaseLost(op, j)
	}
	return nil
}

var ackSQL = sqlStmt(`DELETE FROM {schema}.jobs WHERE id = $1 AND state = 'leased' AND lease_token = $2`)

// Ack completes a job by deleting it. It fails with an error wrapping hubsync.ErrLeaseLost when j's
// lease is no longer the job's (another worker took the job over after the lease expired, the job
// was already acked, retried, released or killed); an expired lease nobody took over still acks.
func (s *Store) Ack(ctx context.Context, j hubsync.Job) error {
	return s.execLeased(ctx, "acking", j, s.sql(ackSQL), j.ID, j.LeaseToken)
}

var retrySQL = sqlStmt(`UPDATE {schema}.jobs SET
			attempts    = attempts + 1,
			last_error  = $3,
			state       = CASE WHEN attempts + 1 >= $6 THEN 'dead' ELSE 'waiting' END,
			run_at      = CASE WHEN attempts + 1 >= $6 THEN run_at ELSE $4 END,
			dead_at     = CASE WHEN attempts + 1 >= $6 THEN $5::timestamptz END,
			lease_token = NULL, lease_until = NULL
		WHERE id = $1 AND state = 'leased' AND lease_token = $2`)

// Retry gives a job back to run again at runAt (a zero runAt means now), counting the attempt and
// recording cause as its LastError. When the count reaches the configured maximum attempts the job
// is dead-lettered instead. The job keeps its place at the head of its key's chain, so later jobs
// of the key still wait for it. ErrLeaseLost as Ack.
func (s *Store) Retry(ctx context.Context, j hubsync.Job, runAt time.Time, cause string) error {
	now := s.now()
	if runAt.IsZero() {
		runAt = now
	}
	return s.execLeased(ctx, "retrying", j, s.sql(retrySQL),
		j.ID, j.LeaseToken, cause, runAt.UTC(), now, s.cfg.maxAttempts)
}

var releaseSQL = sqlStmt(`UPDATE {schema}.jobs SET state = 'waiting', run_at = $3, lease_token = NULL, lease_until = NULL
		WHERE id = $1 AND state = 'leased' AND lease_token = $2`)

// Release gives a leased job back without counting an attempt, to run again at runAt (zero: now).
// ErrLeaseLost as Ack.
func (s *Store) Release(ctx context.Context, j hubsync.Job, runAt time.Time) error {
	if runAt.IsZero() {
		runAt = s.now()
	}
	return s.execLeased(ctx, "releasing", j, s.sql(releaseSQL), j.ID, j.LeaseToken, runAt.UTC())
}

// extendSQL renews, in one statement, the leases of the ($2 ids, $3 tokens) pairs whose token is
// still the leased job's, to $1. The row lock makes it wait for a Dequeue taking a job over; it
// then sees the new token and leaves the job alone.
var extendSQL = sqlStmt(`UPDATE {schema}.jobs SET lease_until = $1
FROM unnest($2::bigint[], $3::text[]) AS x(id, token)
WHERE jobs.id = x.id AND jobs.state = 'leased' AND jobs.lease_token = x.token
RETURNING jobs.id, jobs.lease_token`)

// Extend renews to until the leases of jobs whose lease token is still the job's (an expired
// lease nobody took over included), in one statement (through jobExec's path, so WithAsyncAcks
// applies: a database crash can forget a heartbeat, and the lease then ends earlier), and returns
// the ids of the others, in the order given. An until not after the clock's now fails with an
// error wrapping hubsync.ErrInvalidValue and extends nothing.
func (s *Store) Extend(ctx context.Context, jobs []hubsync.Job, until time.Time) ([]int64, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	if now := s.now(); !until.After(now) {
		return nil, fmt.Errorf("pgstore: extending the leases of %d jobs: lease end %s is not after the clock's now %s: %w",
			len(jobs), until.UTC().Format(time.RFC3339Nano), now.Format(time.RFC3339Nano), hubsync.ErrInvalidValue)
	}
	ids := make([]int64, len(jobs))
	tokens := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i], tokens[i] = j.ID, j.LeaseToken
	}
	type held struct {
		id    int64
		token string
	}
	kept := make(map[held]bool, len(jobs))
	scan := func(rows pgx.Rows) error {
		var h held
		_, err := pgx.ForEachRow(rows, []any{&h.id, &h.token}, func() error {
			kept[h] = true
			return nil
		})
		return err
	}
	if err := s.jobQuery(ctx, scan, s.sql(extendSQL), until.UTC(), ids, tokens); err != nil {
		return nil, interpretError(fmt.Sprintf("extending the leases of %d jobs", len(jobs)), err)
	}
	var lost []int64
	for _, j := range jobs {
		if !kept[held{j.ID, j.LeaseToken}] {
			lost = append(lost, j.ID)
		}
	}
	return lost, nil
}

var holdersSQL = sqlStmt(`SELECT DISTINCT leased_by FROM {schema}.jobs
		WHERE state = 'leased' AND lease_until > $1 AND leased_by IS NOT NULL AND leased_by <> ''
		ORDER BY leased_by`)

// Holders lists, each once and sorted, the workers holding a lease that has not expired.
func (s *Store) Holders(ctx context.Context) ([]string, error) {
	out := []string{}
	scan := func(rows pgx.Rows) error {
		var w string
		_, err := pgx.ForEachRow(rows, []any{&w}, func() error {
			out = append(out, w)
			return nil
		})
		return err
	}
	if err := s.jobQuery(ctx, scan, s.sql(holdersSQL), s.now()); err != nil {
		return nil, interpretError("listing the lease holders", err)
	}
	return out, nil
}

var expireLeasesSQL = sqlStmt(`UPDATE {schema}.jobs SET lease_until = $1
		WHERE state = 'leased' AND lease_until > $1 AND leased_by = $2`)

// ExpireLeases ends now, in one statement, the unexpired leases of the jobs worker holds, so the
// next Dequeue takes them over; it returns how many it ended.
func (s *Store) ExpireLeases(ctx context.Context, worker string) (int, error) {
	tag, err := s.jobExec(ctx, s.sql(expireLeasesSQL), s.now(), worker)
	if err != nil {
		return 0, interpretError(fmt.Sprintf("expiring the leases of worker %q", worker), err)
	}
	return int(tag.RowsAffected()), nil
}

var killSQL = sqlStmt(`UPDATE {schema}.jobs SET attempts = attempts + 1, last_error = $3, state = 'dead', dead_at = $4,
			lease_token = NULL, lease_until = NULL
		WHERE id = $1 AND state = 'leased' AND lease_token = $2`)

// Kill dead-letters a leased job at once, whatever its attempt count: the attempt counts and
// cause becomes its LastError. Like any dead job it no longer blocks its key's later jobs, and
// Replay brings it back. ErrLeaseLost as Ack.
func (s *Store) Kill(ctx context.Context, j hubsync.Job, cause string) error {
	return s.execLeased(ctx, "killing", j, s.sql(killSQL),
		j.ID, j.LeaseToken, cause, s.now())
}

var deadLettersSQL = sqlStmt(`SELECT id, kind, key, payload, priority, run_at, attempts, last_error, enqueued_at
		FROM {schema}.jobs WHERE school = $1 AND state = 'dead' ORDER BY dead_at, id`)

// DeadLetters lists a school's dead-lettered jobs, oldest death first, with their attempt count and
// last error.
func (s *Store) DeadLetters(ctx context.Context, school hubsync.SchoolID) ([]hubsync.Job, error) {
	rows, err := s.db.Query(ctx, s.sql(deadLettersSQL), string(school))
	if err != nil {
		return nil, interpretError(fmt.Sprintf("listing dead letters of school %q", school), err)
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
		return nil, interpretError(fmt.Sprintf("listing dead letters of school %q", school), err)
	}
	return out, nil
}

var replaySQL = sqlStmt(`UPDATE {schema}.jobs SET state = 'waiting', attempts = 0, last_error = '', run_at = $2,
			seq = nextval('{schema}.job_seq'), dead_at = NULL, lease_token = NULL, lease_until = NULL
		WHERE id = $1 AND state = 'dead'`)

// Replay moves a dead-lettered job back to the queue, ready at the clock's now, with Attempts and
// LastError reset. It goes to the end of its key's chain (behind jobs of the key enqueued while it
// was dead). It fails with an error wrapping hubsync.ErrNotFound when no dead job has that id.
func (s *Store) Replay(ctx context.Context, id int64) error {
	tag, err := s.db.Exec(ctx, s.sql(replaySQL), id, s.now())
	if err != nil {
		return interpretError(fmt.Sprintf("replaying job %d", id), err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: replaying job %d: no dead job has that id: %w", id, hubsync.ErrNotFound)
	}
	return nil
}

var discardSQL = sqlStmt(`DELETE FROM {schema}.jobs WHERE id = $1 AND state = 'dead'`)

// Discard deletes a dead-lettered job for good. It fails with an error wrapping
// hubsync.ErrNotFound when no dead job has that id.
func (s *Store) Discard(ctx context.Context, id int64) error {
	tag, err := s.db.Exec(ctx, s.sql(discardSQL), id)
	if err != nil {
		return interpretError(fmt.Sprintf("discarding job %d", id), err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: discarding job %d: no dead job has that id: %w", id, hubsync.ErrNotFound)
	}
	return nil
}

var statsSQL = sqlStmt(`SELECT
			count(*) FILTER (WHERE (state = 'waiting' AND run_at <= $2) OR (state = 'leased' AND lease_until <= $2)),
			count(*) FILTER (WHERE state = 'waiting' AND run_at > $2),
			count(*) FILTER (WHERE state = 'leased' AND lease_until > $2),
			count(*) FILTER (WHERE state = 'dead')
		FROM {schema}.jobs WHERE school = $1`)

// Stats counts a school's jobs at the clock's now: Ready (waiting and due, including those blocked
// behind an older job of their key, plus leases that expired), Scheduled (due later), Leased
// (unexpired leases) and Dead.
func (s *Store) Stats(ctx context.Context, school hubsync.SchoolID) (hubsync.QueueStats, error) {
	var ready, scheduled, leased, dead int64
	err := s.db.QueryRow(ctx, s.sql(statsSQL), string(school), s.now()).Scan(&ready, &scheduled, &leased, &dead)
	if err != nil {
		return hubsync.QueueStats{}, interpretError(fmt.Sprintf("counting jobs of school %q", school), err)
	}
	return hubsync.QueueStats{Ready: int(ready), Scheduled: int(scheduled), Leased: int(leased), Dead: int(dead)}, nil
}

var nextRunAtSQL = sqlStmt(`SELECT min(run_at) FROM {schema}.jobs WHERE state = 'waiting'`)

// NextRunAt returns the earliest RunAt of a waiting (not leased, not dead) job across all schools;
// ok is false when nothing waits. It may be in the past (work is ready now, or waits behind a
// leased job of its key).
func (s *Store) NextRunAt(ctx context.Context) (time.Time, bool, error) {
	var t *time.Time
	if err := s.db.QueryRow(ctx, s.sql(nextRunAtSQL)).Scan(&t); err != nil {
		return time.Time{}, false, interpretError("finding the next run time", err)
	}
	if t == nil {
		return time.Time{}, false, nil
	}
	return t.UTC(), true, nil
}
