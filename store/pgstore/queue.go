package pgstore

import (
	"context"
	"hash/fnv"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlstore"
)

// This file is the executor's half for hubsync.Queue; the engine-facing logic (checks, defaults,
// lease tokens, errors) is package sqlstore's.

// enqueueSQL enqueues a batch of jobs in one statement, from arrays (one element per job, in
// the order given; WITH ORDINALITY numbers them): a job with a key merges into the tail of its
// (school, key) chain when that tail waits (is not leased), and every other job is inserted, in
// the given order. The caller holds the keys' advisory locks, so two enqueues of one key never
// both insert, and gives each key at most once (JobInsert merges a batch's jobs of one key
// first). FOR UPDATE waits for a Dequeue leasing a tail, and then sees it leased, so a leased
// job's payload is never swapped.
var enqueueSQL = sqlStmt(`WITH input AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::smallint[], $6::timestamptz[])
		WITH ORDINALITY AS i(school, kind, key, payload, priority, run_at, n)
), tail AS (
	SELECT i.n, t.id FROM input i, LATERAL (
		SELECT j.id, j.state FROM {schema}.jobs j
		WHERE j.school = i.school AND j.key = i.key AND j.key <> '' AND j.dead_at IS NULL -- key <> '': use jobs_live_chain
		ORDER BY j.seq DESC LIMIT 1
		FOR UPDATE) t
	WHERE i.key <> '' AND t.state = 'waiting'
), merged AS (
	UPDATE {schema}.jobs SET kind = i.kind, payload = i.payload, priority = LEAST(jobs.priority, i.priority),
		run_at = LEAST(jobs.run_at, i.run_at)
	FROM tail JOIN input i USING (n) WHERE jobs.id = tail.id
	RETURNING tail.n
)
INSERT INTO {schema}.jobs (school, kind, key, payload, priority, run_at, state, enqueued_at)
SELECT school, kind, key, payload, priority, run_at, 'waiting', $7 FROM input
WHERE n NOT IN (SELECT n FROM merged)
ORDER BY n`)

var queueSchoolsSQL = sqlStmt(`INSERT INTO {schema}.queue_schools (school) SELECT unnest($1::text[]) ON CONFLICT (school) DO NOTHING`)

// JobInsert sends the whole batch in one round trip: the keys' advisory locks (sorted, so
// concurrent batches cannot deadlock on them), the schools' queue rows, and one statement for
// every job (enqueueSQL, after plannerOffSQL). Deadlocks between concurrent batches on the pool are retried.
func (x *executor) JobInsert(ctx context.Context, jobs []sqlstore.JobInsertRow, now time.Time) error {
	jobs = mergeKeys(jobs)
	n := len(jobs)
	var locks []int64
	schools := make([]string, 0, n)
	var (
		jobSchools, kinds, keys = make([]string, n), make([]string, n), make([]string, n)
		payloads                = make([][]byte, n)
		prios                   = make([]int16, n)
		runAts                  = make([]time.Time, n)
	)
	for i, j := range jobs {
		if j.Key != "" {
			locks = append(locks, x.keyLock(j.School, j.Key))
		}
		schools = append(schools, j.School)
		jobSchools[i], kinds[i], keys[i], payloads[i], prios[i], runAts[i] = j.School, j.Kind, j.Key, j.Payload, int16(j.Priority), j.RunAt
	}
	slices.Sort(locks)
	locks = slices.Compact(locks)
	slices.Sort(schools)
	schools = slices.Compact(schools)

	b := &pgx.Batch{}
	if len(locks) > 0 {
		b.Queue(`SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k`, locks)
	}
	b.Queue(x.sql(queueSchoolsSQL), schools)
	b.Queue(plannerOffSQL)
	b.Queue(x.sql(enqueueSQL), jobSchools, kinds, keys, payloads, prios, runAts, now)
	if !x.onPool {
		b.Queue(plannerBackSQL)
	}
	send := func(db dbtx) error {
		// On the pool a batch runs in one implicit transaction (one Sync), so it is all or nothing;
		// inside a transaction it is part of it.
		return db.SendBatch(ctx, b).Close()
	}
	if !x.onPool {
		return pgx.BeginFunc(ctx, x.db, func(tx pgx.Tx) error { return send(tx) })
	}
	for attempt := 0; ; attempt++ {
		err := send(x.db)
		if err == nil || attempt >= 4 || !retryable(err) {
			return err
		}
		x.cfg.logger.DebugContext(ctx, "pgstore: retrying Enqueue", "attempt", attempt+1, "err", err)
	}
}

// mergeKeys returns jobs with each later job of a (school, key) merged into the first of the key,
// as the queue would merge it into that job once enqueued (waiting, whether inserted or merged
// into the chain's waiting tail): Kind and Payload the later job's, the lower Priority and the
// earlier RunAt kept. Jobs without a key stay as they are; the order is kept. jobs is not changed.
func mergeKeys(jobs []sqlstore.JobInsertRow) []sqlstore.JobInsertRow {
	type chain struct{ school, key string }
	var first map[chain]int
	var out []sqlstore.JobInsertRow
	for i, j := range jobs {
		if j.Key == "" {
			if out != nil {
				out = append(out, j)
			}
			continue
		}
		if first == nil {
			first = make(map[chain]int, len(jobs)-i)
		}
		k := chain{j.School, j.Key}
		at, seen := first[k]
		if !seen {
			if out != nil {
				first[k] = len(out)
				out = append(out, j)
			} else {
				first[k] = i
			}
			continue
		}
		if out == nil {
			out = append(make([]sqlstore.JobInsertRow, 0, len(jobs)), jobs[:i]...)
		}
		m := &out[at]
		m.Kind, m.Payload = j.Kind, j.Payload
		m.Priority = min(m.Priority, j.Priority)
		if j.RunAt.Before(m.RunAt) {
			m.RunAt = j.RunAt
		}
	}
	if out == nil {
		return jobs
	}
	return out
}

// keyLock is the advisory lock id of one (schema, school, key) chain. A hash collision only makes
// two chains' enqueues wait for each other.
func (x *executor) keyLock(school, key string) int64 {
	h := fnv.New64a()
	h.Write([]byte(x.cfg.schema))
	h.Write([]byte{0})
	h.Write([]byte(school))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return int64(h.Sum64())
}

// eligibleSQL is true for a job j Dequeue may lease at time $2 with kinds $3: live (not dead:
// dead_at, not state, which a lease changes, is what the indexes' predicates test, so a lease is a
// HOT update, see migration 0009), due and waiting or leased with the lease run out, of an allowed
// kind, and the head of its key's chain (no older live job of the same school and key: one probe
// of jobs_live_chain, which the redundant test that o.key is not empty lets the planner use).
const eligibleSQL = `j.dead_at IS NULL
	AND ((j.state = 'waiting' AND j.run_at <= $2) OR (j.state = 'leased' AND j.lease_until <= $2))
	AND (cardinality($3::text[]) = 0 OR j.kind = ANY($3::text[]))
	AND (j.key = '' OR NOT EXISTS (SELECT 1 FROM {schema}.jobs o
		WHERE o.school = j.school AND o.key = j.key AND o.key <> '' AND o.dead_at IS NULL AND o.seq < j.seq))`

// leaseSQL is one Dequeue attempt in one statement. school picks the least recently served
// school that has a job eligibleSQL accepts, not among $1, among $4 when not empty, and, when $5
// is not empty, without a job of one of those keys leased and unexpired. picked takes up to $6 of
// its eligible jobs in serving order, skipping rows other workers hold; bump marks the school
// served if any, unless a worker leasing from it at the same time is marking it (waiting for
// that worker's commit would queue the workers of one school behind each other); leased leases
// them: a job taken over from an expired lease counts an attempt, and is dead-lettered instead
// when that reaches the maximum $10 (a job that keeps killing its workers). It returns the leased jobs, or, when it leased none, one row of the school with id 0,
// so the caller knows which school to skip on its next attempt; no row when no school qualifies.
// The schools are sorted first and probed in that order until one passes, so a Dequeue probes
// the schools it passes over, not every school; the probes are scalar subqueries with LIMIT 1,
// so the planner runs each as one index probe rather than a scan of jobs joined to the schools;
// school COLLATE "C" is what lets jobs_live serve them and picked (see migration 0009).
var leaseSQL = sqlStmt(`WITH school AS (
	SELECT qs.school FROM (
		SELECT qs.school FROM {schema}.queue_schools qs
		WHERE NOT (qs.school = ANY($1::text[])) AND (cardinality($4::text[]) = 0 OR qs.school = ANY($4::text[]))
		ORDER BY qs.served, qs.school COLLATE "C"
		OFFSET 0) qs -- OFFSET: the probes below run in serving order, until one school passes
	WHERE (cardinality($5::text[]) = 0 OR (SELECT true FROM {schema}.jobs b
		WHERE b.school = qs.school AND b.key = ANY($5::text[]) AND b.key <> '' AND b.dead_at IS NULL
		  AND b.state = 'leased' AND b.lease_until > $2 LIMIT 1) IS NULL)
	  AND (SELECT true FROM {schema}.jobs j WHERE j.school COLLATE "C" = qs.school AND ` + eligibleSQL + ` LIMIT 1)
	LIMIT 1
), picked AS (
	SELECT j.id FROM {schema}.jobs j
	WHERE j.school COLLATE "C" = (SELECT school FROM school) AND ` + eligibleSQL + `
	ORDER BY j.priority, j.run_at, j.id
	LIMIT $6
	FOR UPDATE SKIP LOCKED
), bump AS (
	UPDATE {schema}.queue_schools SET served = nextval('{schema}.serve_seq')
	WHERE school = (SELECT qs.school FROM {schema}.queue_schools qs
		WHERE qs.school = (SELECT school FROM school) AND EXISTS (SELECT 1 FROM picked)
		FOR UPDATE SKIP LOCKED)
), leased AS (
	UPDATE {schema}.jobs j SET
		attempts   = CASE WHEN j.state = 'leased' THEN j.attempts + 1 ELSE j.attempts END,
		last_error = CASE WHEN j.state = 'leased'
			THEN 'pgstore: the lease of worker "' || coalesce(j.leased_by, '') || '" expired before it finished'
			ELSE j.last_error END,
		dead_at    = CASE WHEN j.state = 'leased' AND j.attempts + 1 >= $10 THEN $2 END,
		lease_token = $7,
		lease_until = $8,
		leased_by  = $9,
		state      = CASE WHEN j.state = 'leased' AND j.attempts + 1 >= $10 THEN 'dead' ELSE 'leased' END
	WHERE j.id = ANY(ARRAY(SELECT id FROM picked)) -- not a join: on a small table the planner picks a full scan
	RETURNING j.id, j.school, j.kind, j.key, j.payload, j.priority, j.run_at, j.state, j.attempts, j.last_error,
		j.lease_until, j.enqueued_at
)
SELECT * FROM leased
UNION ALL
SELECT 0::bigint, school, '', '', NULL::bytea, 0::smallint, $2, '', 0, '', $2, $2 FROM school WHERE NOT EXISTS (SELECT 1 FROM leased)`)

// leaseAttemptsMax bounds JobLease's attempts: a school whose ready jobs racing workers all took
// at that instant is skipped on the next attempt, up to this many schools.
const leaseAttemptsMax = 16

// JobLease leases from the least recently served school that yields jobs, with one statement
// (leaseSQL) per school tried. Rows other workers are leasing are skipped (FOR UPDATE SKIP
// LOCKED), so concurrent workers never get one job twice; a school whose ready jobs were all
// taken by racing workers at that instant gives way to the next. With WithAsyncAcks the lease
// commits without waiting for the WAL flush.
func (x *executor) JobLease(ctx context.Context, p sqlstore.JobLeaseParams) ([]sqlstore.JobRow, error) {
	exclude := nonNil(p.Exclude)
	for range leaseAttemptsMax {
		jobs, school, err := x.lease(ctx, exclude, p)
		if err != nil || len(jobs) > 0 || school == "" {
			return jobs, err
		}
		exclude = append(slices.Clip(exclude), school)
	}
	return nil, nil
}

// nonNil is xs, or an empty slice for nil: pgx sends a nil slice as NULL, whose cardinality is
// NULL, not 0.
func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

// lease runs leaseSQL once, skipping the schools exclude, and returns the jobs it leased and
// the school it tried ("" when none qualified).
func (x *executor) lease(ctx context.Context, exclude []string, p sqlstore.JobLeaseParams) ([]sqlstore.JobRow, string, error) {
	var (
		jobs  []sqlstore.JobRow
		tried string
	)
	scan := func(rows pgx.Rows) error {
		var (
			j        sqlstore.JobRow
			state    string
			prio     int16
			attempts int32
		)
		_, err := pgx.ForEachRow(rows, []any{&j.ID, &j.School, &j.Kind, &j.Key, &j.Payload, &prio, &j.RunAt, &state, &attempts, &j.LastError, &j.LeaseUntil, &j.EnqueuedAt}, func() error {
			tried = j.School
			switch {
			case j.ID == 0: // the school's row: nothing leased
			case state == "dead":
				x.cfg.logger.WarnContext(ctx, "pgstore: dead-lettered a job whose leases kept expiring", "school", j.School, "job", j.ID, "attempts", attempts)
			default:
				j.Priority, j.Attempts, j.LeaseToken = int(prio), int(attempts), p.Token
				jobs = append(jobs, j)
			}
			j = sqlstore.JobRow{}
			return nil
		})
		return err
	}
	err := x.planned(ctx, scan, x.sql(leaseSQL), exclude, p.Now, p.Kinds, nonNil(p.Schools), nonNil(p.BusyKeys),
		p.Max, p.Token, p.Until, p.Worker, p.MaxAttempts)
	return jobs, tried, err
}

// plannerOffSQL sets, for the rest of the transaction, what keeps the plans of enqueueSQL,
// leaseSQL and nextRunAtSQL the ones they were written for on a table whose statistics are
// missing or stale (a queue's counts swing from empty to a burst of jobs between two analyses).
// It keeps the connection's generic plan (the same one, planned once) instead of planning leaseSQL
// again at each call, which costs as much as running it (the planner rates the generic plan
// dearer and would never switch to it); and so that plan, made once, must suit a table of any
// size. So it turns off JIT compilation, whose 20 to 70 ms a query estimated at a full scan pays
// at each call; bitmap scans, which read and sort every job of a school for want of knowing how
// many there are, where the index, read in serving order, stops after the jobs asked for; and
// sequential scans, which a plan made while the table was small takes for each of an Enqueue's
// key chain probes (240 ms for 100 jobs on a table of 20,000). It saves the values it replaces
// under hubsync.* names for plannerBackSQL.
const plannerOffSQL = `SELECT set_config('hubsync.jit', current_setting('jit'), true),
	set_config('hubsync.enable_bitmapscan', current_setting('enable_bitmapscan'), true),
	set_config('hubsync.enable_seqscan', current_setting('enable_seqscan'), true),
	set_config('hubsync.plan_cache_mode', current_setting('plan_cache_mode'), true),
	set_config('jit', 'off', true), set_config('enable_bitmapscan', 'off', true),
	set_config('enable_seqscan', 'off', true), set_config('plan_cache_mode', 'force_generic_plan', true)`

// plannerBackSQL restores what plannerOffSQL changed, for the rest of a host's transaction.
const plannerBackSQL = `SELECT set_config('jit', current_setting('hubsync.jit'), true),
	set_config('enable_bitmapscan', current_setting('hubsync.enable_bitmapscan'), true),
	set_config('enable_seqscan', current_setting('hubsync.enable_seqscan'), true),
	set_config('plan_cache_mode', current_setting('hubsync.plan_cache_mode'), true)`

// planned runs the statement sql (leaseSQL, nextRunAtSQL), whose rows scan reads, after
// plannerOffSQL, in one round trip: on the pool in a transaction of its own (with
// synchronous_commit off when relaxed), inside a host's transaction followed by plannerBackSQL.
func (x *executor) planned(ctx context.Context, scan func(pgx.Rows) error, sql string, args ...any) error {
	b := &pgx.Batch{}
	relaxed := x.relaxed()
	if relaxed {
		b.Queue(`BEGIN`)
		b.Queue(`SET LOCAL synchronous_commit TO off`)
	}
	b.Queue(plannerOffSQL)
	at := b.Len()
	b.Queue(sql, args...)
	switch {
	case relaxed:
		b.Queue(`COMMIT`)
	case !x.onPool:
		b.Queue(plannerBackSQL)
	}
	br := x.db.SendBatch(ctx, b)
	var err error
	for i := 0; err == nil && i < b.Len(); i++ {
		if i != at {
			_, err = br.Exec()
			continue
		}
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			err = scan(rows)
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// leasedExec runs one job-lifecycle statement guarded by a lease (through jobExec, so
// WithAsyncAcks applies) and reports whether it touched a row.
func (x *executor) leasedExec(ctx context.Context, id stmt, args ...any) (bool, error) {
	tag, err := x.jobExec(ctx, x.sql(id), args...)
	return err == nil && tag.RowsAffected() > 0, err
}

var ackSQL = sqlStmt(`DELETE FROM {schema}.jobs WHERE id = $1 AND state = 'leased' AND lease_token = $2`)

func (x *executor) JobAck(ctx context.Context, id int64, token string) (bool, error) {
	return x.leasedExec(ctx, ackSQL, id, token)
}

var retrySQL = sqlStmt(`UPDATE {schema}.jobs SET
			attempts    = attempts + 1,
			last_error  = $3,
			state       = CASE WHEN attempts + 1 >= $6 THEN 'dead' ELSE 'waiting' END,
			run_at      = CASE WHEN attempts + 1 >= $6 THEN run_at ELSE $4 END,
			dead_at     = CASE WHEN attempts + 1 >= $6 THEN $5::timestamptz END,
			lease_token = NULL, lease_until = NULL
		WHERE id = $1 AND state = 'leased' AND lease_token = $2`)

// JobRetry keeps the job's seq, so it stays the head of its key's chain.
func (x *executor) JobRetry(ctx context.Context, p sqlstore.JobRetryParams) (bool, error) {
	return x.leasedExec(ctx, retrySQL, p.ID, p.Token, p.Cause, p.RunAt, p.Now, p.MaxAttempts)
}

var releaseSQL = sqlStmt(`UPDATE {schema}.jobs SET state = 'waiting', run_at = $3, lease_token = NULL, lease_until = NULL
		WHERE id = $1 AND state = 'leased' AND lease_token = $2`)

func (x *executor) JobRelease(ctx context.Context, id int64, token string, runAt time.Time) (bool, error) {
	return x.leasedExec(ctx, releaseSQL, id, token, runAt)
}

// ackManySQL deletes, in one statement, the jobs of the ($1 ids, $2 tokens) pairs whose token is
// still the leased job's. The row lock makes it wait for a Dequeue taking a job over, as for
// extendSQL.
var ackManySQL = sqlStmt(`DELETE FROM {schema}.jobs
USING unnest($1::bigint[], $2::text[]) AS x(id, token)
WHERE jobs.id = x.id AND jobs.state = 'leased' AND jobs.lease_token = x.token
RETURNING jobs.id, jobs.lease_token`)

// JobAckMany goes through jobExec's path, so WithAsyncAcks applies as for JobAck.
func (x *executor) JobAckMany(ctx context.Context, leases []sqlstore.Lease) ([]bool, error) {
	return x.leasedMany(ctx, leases, ackManySQL)
}

// releaseManySQL is releaseSQL for the ($2 ids, $3 tokens) pairs, to run at $1.
var releaseManySQL = sqlStmt(`UPDATE {schema}.jobs SET state = 'waiting', run_at = $1, lease_token = NULL, lease_until = NULL
FROM unnest($2::bigint[], $3::text[]) AS x(id, token)
WHERE jobs.id = x.id AND jobs.state = 'leased' AND jobs.lease_token = x.token
RETURNING jobs.id, x.token`)

func (x *executor) JobReleaseMany(ctx context.Context, leases []sqlstore.Lease, runAt time.Time) ([]bool, error) {
	return x.leasedMany(ctx, leases, releaseManySQL, runAt)
}

// leasedMany runs the statement id, whose last two parameters are the ids and the tokens of
// leases (after args) and which returns the (id, token) of each job it changed, and reports for
// each lease whether it changed its job.
func (x *executor) leasedMany(ctx context.Context, leases []sqlstore.Lease, id stmt, args ...any) ([]bool, error) {
	ids := make([]int64, len(leases))
	tokens := make([]string, len(leases))
	for i, l := range leases {
		ids[i], tokens[i] = l.ID, l.Token
	}
	done := make(map[sqlstore.Lease]bool, len(leases))
	scan := func(rows pgx.Rows) error {
		var l sqlstore.Lease
		_, err := pgx.ForEachRow(rows, []any{&l.ID, &l.Token}, func() error {
			done[l] = true
			return nil
		})
		return err
	}
	if err := x.jobQuery(ctx, scan, x.sql(id), append(args, ids, tokens)...); err != nil {
		return nil, err
	}
	out := make([]bool, len(leases))
	for i, l := range leases {
		out[i] = done[l]
	}
	return out, nil
}

var killSQL = sqlStmt(`UPDATE {schema}.jobs SET attempts = attempts + 1, last_error = $3, state = 'dead', dead_at = $4,
			lease_token = NULL, lease_until = NULL
		WHERE id = $1 AND state = 'leased' AND lease_token = $2`)

func (x *executor) JobKill(ctx context.Context, id int64, token, cause string, now time.Time) (bool, error) {
	return x.leasedExec(ctx, killSQL, id, token, cause, now)
}

// extendSQL renews, in one statement, the leases of the ($2 ids, $3 tokens) pairs whose token is
// still the leased job's, to $1. The row lock makes it wait for a Dequeue taking a job over; it
// then sees the new token and leaves the job alone.
var extendSQL = sqlStmt(`UPDATE {schema}.jobs SET lease_until = $1
FROM unnest($2::bigint[], $3::text[]) AS x(id, token)
WHERE jobs.id = x.id AND jobs.state = 'leased' AND jobs.lease_token = x.token
RETURNING jobs.id, jobs.lease_token`)

// JobExtend goes through jobExec's path, so WithAsyncAcks applies: a database crash can forget a
// heartbeat, and the lease then ends earlier.
func (x *executor) JobExtend(ctx context.Context, leases []sqlstore.Lease, until time.Time) ([]bool, error) {
	ids := make([]int64, len(leases))
	tokens := make([]string, len(leases))
	for i, l := range leases {
		ids[i], tokens[i] = l.ID, l.Token
	}
	kept := make(map[sqlstore.Lease]bool, len(leases))
	scan := func(rows pgx.Rows) error {
		var l sqlstore.Lease
		_, err := pgx.ForEachRow(rows, []any{&l.ID, &l.Token}, func() error {
			kept[l] = true
			return nil
		})
		return err
	}
	if err := x.jobQuery(ctx, scan, x.sql(extendSQL), until, ids, tokens); err != nil {
		return nil, err
	}
	out := make([]bool, len(leases))
	for i, l := range leases {
		out[i] = kept[l]
	}
	return out, nil
}

var holdersSQL = sqlStmt(`SELECT DISTINCT leased_by FROM {schema}.jobs
		WHERE state = 'leased' AND lease_until > $1 AND leased_by IS NOT NULL AND leased_by <> ''
		ORDER BY leased_by`)

func (x *executor) JobHolders(ctx context.Context, now time.Time) ([]string, error) {
	rows, err := x.db.Query(ctx, x.sql(holdersSQL), now)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

var expireLeasesSQL = sqlStmt(`UPDATE {schema}.jobs SET lease_until = $1
		WHERE state = 'leased' AND lease_until > $1 AND leased_by = $2`)

func (x *executor) JobExpireLeases(ctx context.Context, worker string, now time.Time) (int, error) {
	tag, err := x.jobExec(ctx, x.sql(expireLeasesSQL), now, worker)
	return int(tag.RowsAffected()), err
}

var deadLettersSQL = sqlStmt(`SELECT id, kind, key, payload, priority, run_at, attempts, last_error, enqueued_at
		FROM {schema}.jobs WHERE school = $1 AND dead_at IS NOT NULL ORDER BY dead_at, id`)

func (x *executor) JobDeadLetters(ctx context.Context, school string) ([]sqlstore.JobRow, error) {
	rows, err := x.db.Query(ctx, x.sql(deadLettersSQL), school)
	if err != nil {
		return nil, err
	}
	var (
		out      []sqlstore.JobRow
		j        sqlstore.JobRow
		prio     int16
		attempts int32
	)
	_, err = pgx.ForEachRow(rows, []any{&j.ID, &j.Kind, &j.Key, &j.Payload, &prio, &j.RunAt, &attempts, &j.LastError, &j.EnqueuedAt}, func() error {
		j.School, j.Priority, j.Attempts = school, int(prio), int(attempts)
		out = append(out, j)
		j = sqlstore.JobRow{}
		return nil
	})
	return out, err
}

// replaySQL moves the job to the end of its key's chain (a new seq: behind jobs of the key
// enqueued while it was dead).
var replaySQL = sqlStmt(`UPDATE {schema}.jobs SET state = 'waiting', attempts = 0, last_error = '', run_at = $2,
			seq = nextval('{schema}.job_seq'), dead_at = NULL, lease_token = NULL, lease_until = NULL
		WHERE id = $1 AND state = 'dead'`)

func (x *executor) JobReplay(ctx context.Context, id int64, now time.Time) (bool, error) {
	tag, err := x.db.Exec(ctx, x.sql(replaySQL), id, now)
	return err == nil && tag.RowsAffected() > 0, err
}

var discardSQL = sqlStmt(`DELETE FROM {schema}.jobs WHERE id = $1 AND state = 'dead'`)

func (x *executor) JobDiscard(ctx context.Context, id int64) (bool, error) {
	tag, err := x.db.Exec(ctx, x.sql(discardSQL), id)
	return err == nil && tag.RowsAffected() > 0, err
}

// statsColumnsSQL are the four counts of hubsync.QueueStats at $2.
const statsColumnsSQL = `count(*) FILTER (WHERE (state = 'waiting' AND run_at <= $2) OR (state = 'leased' AND lease_until <= $2)),
			count(*) FILTER (WHERE state = 'waiting' AND run_at > $2),
			count(*) FILTER (WHERE state = 'leased' AND lease_until > $2),
			count(*) FILTER (WHERE state = 'dead')`

var (
	statsSQL       = sqlStmt(`SELECT ` + statsColumnsSQL + ` FROM {schema}.jobs WHERE school = $1`)
	statsByKindSQL = sqlStmt(`SELECT kind, ` + statsColumnsSQL + ` FROM {schema}.jobs WHERE school = $1 GROUP BY kind`)
)

func (x *executor) JobStats(ctx context.Context, school string, now time.Time) (hubsync.QueueStats, error) {
	var ready, scheduled, leased, dead int64
	err := x.db.QueryRow(ctx, x.sql(statsSQL), school, now).Scan(&ready, &scheduled, &leased, &dead)
	return hubsync.QueueStats{Ready: int(ready), Scheduled: int(scheduled), Leased: int(leased), Dead: int(dead)}, err
}

func (x *executor) JobStatsByKind(ctx context.Context, school string, now time.Time) (map[string]hubsync.QueueStats, error) {
	rows, err := x.db.Query(ctx, x.sql(statsByKindSQL), school, now)
	if err != nil {
		return nil, err
	}
	out := map[string]hubsync.QueueStats{}
	var kind string
	var ready, scheduled, leased, dead int64
	_, err = pgx.ForEachRow(rows, []any{&kind, &ready, &scheduled, &leased, &dead}, func() error {
		out[kind] = hubsync.QueueStats{Ready: int(ready), Scheduled: int(scheduled), Leased: int(leased), Dead: int(dead)}
		return nil
	})
	return out, err
}

// nextRunAtSQL reads jobs_live_run_at in run_at order from the earliest, passing over the leased
// jobs (about as many as the leases in flight). It runs through planned: on a table without
// statistics the planner would rather read every live job by a bitmap scan.
var nextRunAtSQL = sqlStmt(`SELECT run_at FROM {schema}.jobs WHERE dead_at IS NULL AND state = 'waiting' ORDER BY run_at LIMIT 1`)

// JobNextRunAt counts waiting jobs only (an expired lease is found by the workers' poll).
func (x *executor) JobNextRunAt(ctx context.Context, _ time.Time) (time.Time, bool, error) {
	var (
		t  time.Time
		ok bool
	)
	scan := func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&t}, func() error { ok = true; return nil })
		return err
	}
	if err := x.planned(ctx, scan, x.sql(nextRunAtSQL)); err != nil {
		return time.Time{}, false, err
	}
	return t, ok, nil
}
