package sqlitestore

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hubsync/hubsync"
)

// The statements of this file (see sqlText).
var (
	addQueueSchoolSQL = sqlText(`INSERT INTO {p}queue_schools (school) VALUES (?) ON CONFLICT DO NOTHING`)
	coalesceJobSQL    = sqlText(`UPDATE {p}jobs SET kind = ?, payload = ?, priority = MIN(priority, ?), run_at = MIN(run_at, ?)
					WHERE id = (SELECT id FROM {p}jobs WHERE school = ? AND key = ? AND key <> '' AND dead_at IS NULL AND lease_token IS NULL
						ORDER BY id DESC LIMIT 1)`)
	insertJobSQL = sqlText(`INSERT INTO {p}jobs (school, kind, key, payload, priority, run_at, enqueued_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`)
	killExpiredSQL = sqlText(`UPDATE {p}jobs SET attempts = attempts + 1,
				last_error = 'sqlitestore: lease expired before the worker finished',
				lease_token = NULL, lease_until = NULL, worker = NULL, dead_at = ?1
			WHERE dead_at IS NULL AND lease_token IS NOT NULL AND lease_until <= ?1 AND attempts + 1 >= ?2`)
	leaseJobSQL = sqlText(`UPDATE {p}jobs SET lease_token = ?, lease_until = ?, worker = ?, attempts = ?, last_error = ?
					WHERE id = ?`)
	markServedSQL    = sqlText(`UPDATE {p}queue_schools SET served = (SELECT MAX(served) FROM {p}queue_schools) + 1 WHERE school = ?`)
	schoolsByTurnSQL = sqlText(`SELECT q.school FROM {p}queue_schools q
		WHERE EXISTS (SELECT 1 FROM {p}jobs j WHERE j.school = q.school AND j.dead_at IS NULL AND j.run_at <= ?)
		ORDER BY q.served, q.school`)
	ackSQL   = sqlText(`DELETE FROM {p}jobs WHERE id = ? AND lease_token = ? AND dead_at IS NULL`)
	retrySQL = sqlText(`UPDATE {p}jobs SET lease_token = NULL, lease_until = NULL, worker = NULL,
		attempts = attempts + 1, last_error = ?, run_at = ?,
		dead_at = CASE WHEN attempts + 1 >= ? THEN ? ELSE NULL END
		WHERE id = ? AND lease_token = ? AND dead_at IS NULL`)
	releaseSQL = sqlText(`UPDATE {p}jobs SET lease_token = NULL, lease_until = NULL, worker = NULL, run_at = ?
		WHERE id = ? AND lease_token = ? AND dead_at IS NULL`)
	extendSQL  = sqlText(`UPDATE {p}jobs SET lease_until = ? WHERE id = ? AND lease_token = ? AND dead_at IS NULL`)
	holdersSQL = sqlText(`SELECT DISTINCT worker FROM {p}jobs
		WHERE dead_at IS NULL AND lease_token IS NOT NULL AND lease_until > ? AND worker IS NOT NULL AND worker <> ''
		ORDER BY worker`)
	expireLeasesSQL = sqlText(`UPDATE {p}jobs SET lease_until = ?1
			WHERE dead_at IS NULL AND lease_token IS NOT NULL AND lease_until > ?1 AND worker = ?2`)
	killSQL = sqlText(`UPDATE {p}jobs SET lease_token = NULL, lease_until = NULL, worker = NULL,
		attempts = attempts + 1, last_error = ?, dead_at = ?
		WHERE id = ? AND lease_token = ? AND dead_at IS NULL`)
	replaySQL  = sqlText(`UPDATE {p}jobs SET dead_at = NULL, attempts = 0, run_at = ? WHERE id = ? AND dead_at IS NOT NULL`)
	discardSQL = sqlText(`DELETE FROM {p}jobs WHERE id = ? AND dead_at IS NOT NULL`)
	statsSQL   = sqlText(`SELECT
			COALESCE(SUM(dead_at IS NULL AND (lease_token IS NULL AND run_at <= ?1 OR lease_token IS NOT NULL AND lease_until <= ?1)), 0),
			COALESCE(SUM(dead_at IS NULL AND lease_token IS NULL AND run_at > ?1), 0),
			COALESCE(SUM(dead_at IS NULL AND lease_token IS NOT NULL AND lease_until > ?1), 0),
			COALESCE(SUM(dead_at IS NOT NULL), 0)
		FROM {p}jobs WHERE school = ?2`)
	// readySQL and readyTailSQL are the query of ready, before and after its optional kind filter.
	readySQL = sqlText(`SELECT ` + jobColumns + ` FROM {p}jobs j
		WHERE j.school = ? AND j.dead_at IS NULL AND j.run_at <= ? AND (j.lease_token IS NULL OR j.lease_until <= ?)`)
	readyTailSQL = sqlText(` AND (j.key = '' OR NOT EXISTS (SELECT 1 FROM {p}jobs o
			WHERE o.school = j.school AND o.key = j.key AND o.key <> '' AND o.dead_at IS NULL AND o.id <> j.id
			AND (o.lease_token IS NOT NULL OR (j.lease_token IS NULL AND o.id < j.id))))
		ORDER BY j.priority, j.run_at, j.id LIMIT ?`)
	deadLettersSQL = sqlText(`SELECT ` + jobColumns + ` FROM {p}jobs
		WHERE school = ? AND dead_at IS NOT NULL ORDER BY dead_at, id`)
	nextWaitingSQL = sqlText(`SELECT MIN(run_at) FROM {p}jobs WHERE dead_at IS NULL AND lease_token IS NULL`)
	nextExpiredSQL = sqlText(`SELECT MIN(lease_until) FROM {p}jobs WHERE dead_at IS NULL AND lease_token IS NOT NULL AND lease_until <= ?`)
)

func validateSpecs(jobs []hubsync.JobSpec) error {
	if err := hubsync.ValidateJobs(jobs); err != nil {
		return fmt.Errorf("sqlitestore: enqueue: %w", err)
	}
	return nil
}

// Enqueue adds jobs in one transaction, coalescing by key (see hubsync.JobSpec.Key): a job of a
// key merges into the newest job of that key that is waiting and not leased. A job with no
// school, no kind or an unknown priority fails the whole call and nothing is enqueued.
func (s *Store) Enqueue(ctx context.Context, jobs ...hubsync.JobSpec) error {
	if err := validateSpecs(jobs); err != nil {
		return err
	}
	if len(jobs) == 0 {
		return nil
	}
	now := ns(s.clk.Now())
	err := s.write(ctx, func(q querier) error {
		schools := map[hubsync.SchoolID]bool{}
		for _, j := range jobs {
			runAt := ns(j.RunAt)
			if j.RunAt.IsZero() {
				runAt = now
			}
			if !schools[j.School] {
				schools[j.School] = true
				if _, err := q.ExecContext(ctx, s.sql(addQueueSchoolSQL), string(j.School)); err != nil {
					return err
				}
			}
			if j.Key != "" {
				res, err := q.ExecContext(ctx, s.sql(coalesceJobSQL),
					string(j.Kind), j.Payload, int(j.Priority), runAt, string(j.School), j.Key)
				if err != nil {
					return err
				}
				n, err := res.RowsAffected()
				if err != nil {
					return err
				}
				if n == 1 {
					continue
				}
			}
			if _, err := q.ExecContext(ctx, s.sql(insertJobSQL), string(j.School), string(j.Kind), j.Key, j.Payload, int(j.Priority), runAt, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return interpretError("enqueue", err)
	}
	return nil
}

// jobColumns are the columns scanJob reads, in order.
const jobColumns = `id, school, kind, key, payload, priority, run_at, attempts, last_error, lease_token, lease_until, enqueued_at`

type scanner interface{ Scan(dest ...any) error }

func scanJob(r scanner) (hubsync.Job, error) {
	var j hubsync.Job
	var school, kind string
	var prio int
	var runAt, enqueued int64
	var token sql.NullString
	var until sql.NullInt64
	if err := r.Scan(&j.ID, &school, &kind, &j.Key, &j.Payload, &prio, &runAt, &j.Attempts, &j.LastError, &token, &until, &enqueued); err != nil {
		return hubsync.Job{}, err
	}
	j.School, j.Kind, j.Priority = hubsync.SchoolID(school), hubsync.JobKind(kind), hubsync.Priority(prio)
	j.RunAt, j.EnqueuedAt = fromNS(runAt), fromNS(enqueued)
	j.LeaseToken, j.LeaseUntil = token.String, fromNS(until.Int64)
	return j, nil
}

func newLeaseToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// Dequeue leases up to opts.Max ready jobs of one school, in one immediate transaction: the
// school served least recently among those with ready jobs, live jobs first, then by RunAt and
// enqueue order. A zero opts.Lease means LeaseDefault; a negative Max or Lease is an error. A
// job whose lease expired is taken over with its attempt count increased, or dead-lettered when
// that count reaches the maximum attempts.
func (s *Store) Dequeue(ctx context.Context, opts hubsync.DequeueOptions) ([]hubsync.Job, error) {
	if opts.Max < 0 || opts.Lease < 0 {
		return nil, fmt.Errorf("sqlitestore: dequeue: negative Max (%d) or Lease (%v)", opts.Max, opts.Lease)
	}
	max, lease := cmp.Or(opts.Max, 1), cmp.Or(opts.Lease, LeaseDefault)
	out := []hubsync.Job{}
	err := s.write(ctx, func(q querier) error {
		now := s.clk.Now()
		// A job that keeps outliving its workers' leases: its last try counts, and it is dead.
		if _, err := q.ExecContext(ctx, s.sql(killExpiredSQL),
			ns(now), s.maxAttempts); err != nil {
			return err
		}
		schools, err := s.schoolsByTurn(ctx, q, ns(now))
		if err != nil {
			return err
		}
		for _, school := range schools {
			if slices.Contains(opts.Exclude, school) {
				continue
			}
			jobs, err := s.ready(ctx, q, school, ns(now), max, opts.Kinds)
			if err != nil {
				return err
			}
			if len(jobs) == 0 {
				continue
			}
			until := now.Add(lease)
			for _, j := range jobs {
				if j.LeaseToken != "" {
					// Taken over from a worker whose lease ran out: that try counts.
					j.Attempts++
					j.LastError = "sqlitestore: lease expired at " + j.LeaseUntil.Format(time.RFC3339Nano) + " before the worker finished"
				}
				j.LeaseToken, j.LeaseUntil = newLeaseToken(), until
				if _, err := q.ExecContext(ctx, s.sql(leaseJobSQL), j.LeaseToken, ns(until), opts.Worker, j.Attempts, j.LastError, j.ID); err != nil {
					return err
				}
				out = append(out, j)
			}
			_, err = q.ExecContext(ctx, s.sql(markServedSQL), string(school))
			return err
		}
		return nil
	})
	if err != nil {
		return nil, interpretError("dequeue", err)
	}
	return out, nil
}

// schoolsByTurn lists the schools with a live job due by now, least recently served first. (A
// school listed may still have nothing to lease: its due jobs may be leased or behind others.)
func (s *Store) schoolsByTurn(ctx context.Context, q querier, now int64) ([]hubsync.SchoolID, error) {
	rows, err := q.QueryContext(ctx, s.sql(schoolsByTurnSQL), now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []hubsync.SchoolID
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, hubsync.SchoolID(id))
	}
	return out, rows.Err()
}

// ready returns up to max jobs of school that may be leased at now: due, not dead, not under an
// unexpired lease, of one of kinds (when given), and first in line for their key. A job is
// behind another of its key when that one is leased (even expired) or, for a job not itself
// leased, was enqueued earlier.
func (s *Store) ready(ctx context.Context, q querier, school hubsync.SchoolID, now int64, max int, kinds []hubsync.JobKind) ([]hubsync.Job, error) {
	query := s.sql(readySQL)
	args := []any{string(school), now, now}
	if len(kinds) > 0 {
		query += ` AND j.kind IN (?` + strings.Repeat(`, ?`, len(kinds)-1) + `)`
		for _, k := range kinds {
			args = append(args, string(k))
		}
	}
	query += s.sql(readyTailSQL)
	args = append(args, max)
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []hubsync.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// execLeased runs a statement guarded by j's lease and returns ErrLeaseLost when it touched
// nothing.
func (s *Store) execLeased(ctx context.Context, op string, j hubsync.Job, query string, args ...any) error {
	var n int64
	err := s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return interpretError(fmt.Sprintf("%s job %d", op, j.ID), err)
	}
	if n == 0 {
		return leaseLost(op, j)
	}
	return nil
}

// Ack completes and deletes a leased job; hubsync.ErrLeaseLost when the lease is no longer j's.
func (s *Store) Ack(ctx context.Context, j hubsync.Job) error {
	return s.execLeased(ctx, "ack", j, s.sql(ackSQL), j.ID, j.LeaseToken)
}

// Retry gives a leased job back to run at runAt (zero: now), counting the attempt and recording
// cause; the attempt that reaches the store's max attempts dead-letters the job instead.
// hubsync.ErrLeaseLost when the lease is no longer j's.
func (s *Store) Retry(ctx context.Context, j hubsync.Job, runAt time.Time, cause string) error {
	now := s.clk.Now()
	if runAt.IsZero() {
		runAt = now
	}
	return s.execLeased(ctx, "retry", j, s.sql(retrySQL),
		cause, ns(runAt), s.maxAttempts, ns(now), j.ID, j.LeaseToken)
}

// Release gives a leased job back to run at runAt (zero: now) without counting an attempt.
// hubsync.ErrLeaseLost when the lease is no longer j's.
func (s *Store) Release(ctx context.Context, j hubsync.Job, runAt time.Time) error {
	if runAt.IsZero() {
		runAt = s.clk.Now()
	}
	return s.execLeased(ctx, "release", j, s.sql(releaseSQL), ns(runAt), j.ID, j.LeaseToken)
}

// Extend renews to until the leases of jobs whose lease token is still the job's (an expired
// lease nobody took over included), in one immediate transaction with one prepared UPDATE per
// job, and returns the ids of the others, in the order given. An until not after the clock's now
// (read once the transaction holds the writer) fails with an error wrapping
// hubsync.ErrInvalidValue and extends nothing.
func (s *Store) Extend(ctx context.Context, jobs []hubsync.Job, until time.Time) ([]int64, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	var lost []int64
	err := s.write(ctx, func(q querier) error {
		lost = lost[:0]
		if now := s.clk.Now(); !until.After(now) {
			return fmt.Errorf("lease end %s is not after the clock's now %s: %w",
				until.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano), hubsync.ErrInvalidValue)
		}
		for _, j := range jobs {
			res, err := q.ExecContext(ctx, s.sql(extendSQL),
				ns(until), j.ID, j.LeaseToken)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n == 0 {
				lost = append(lost, j.ID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, interpretError(fmt.Sprintf("extend the leases of %d jobs", len(jobs)), err)
	}
	return lost, nil
}

// Holders lists, each once and sorted, the workers holding a lease that has not expired.
func (s *Store) Holders(ctx context.Context) ([]string, error) {
	rows, err := s.reader().QueryContext(ctx, s.sql(holdersSQL), ns(s.clk.Now()))
	if err != nil {
		return nil, interpretError("list lease holders", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var w string
		if err := rows.Scan(&w); err != nil {
			return nil, interpretError("list lease holders", err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, interpretError("list lease holders", err)
	}
	return out, nil
}

// ExpireLeases ends now, in one statement, the unexpired leases of the jobs worker holds, so the
// next Dequeue takes them over; it returns how many it ended.
func (s *Store) ExpireLeases(ctx context.Context, worker string) (int, error) {
	var n int64
	err := s.write(ctx, func(q querier) error {
		now := ns(s.clk.Now())
		res, err := q.ExecContext(ctx, s.sql(expireLeasesSQL), now, worker)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, interpretError(fmt.Sprintf("expire the leases of worker %q", worker), err)
	}
	return int(n), nil
}

// Kill dead-letters a leased job at once, counting the attempt and recording cause;
// hubsync.ErrLeaseLost when the lease is no longer j's.
func (s *Store) Kill(ctx context.Context, j hubsync.Job, cause string) error {
	return s.execLeased(ctx, "kill", j, s.sql(killSQL),
		cause, ns(s.clk.Now()), j.ID, j.LeaseToken)
}

// DeadLetters lists a school's dead-lettered jobs, oldest death first.
func (s *Store) DeadLetters(ctx context.Context, school hubsync.SchoolID) ([]hubsync.Job, error) {
	rows, err := s.reader().QueryContext(ctx, s.sql(deadLettersSQL), string(school))
	if err != nil {
		return nil, interpretError(fmt.Sprintf("dead letters of %s", school), err)
	}
	defer rows.Close()
	out := []hubsync.Job{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, interpretError(fmt.Sprintf("dead letters of %s", school), err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, interpretError(fmt.Sprintf("dead letters of %s", school), err)
	}
	return out, nil
}

// Replay makes dead job id ready now with its attempts reset; hubsync.ErrNotFound when no dead
// job has that id.
func (s *Store) Replay(ctx context.Context, id int64) error {
	var n int64
	err := s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, s.sql(replaySQL),
			ns(s.clk.Now()), id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return interpretError(fmt.Sprintf("replay job %d", id), err)
	}
	if n == 0 {
		return fmt.Errorf("sqlitestore: replay job %d: no dead job with that id: %w", id, hubsync.ErrNotFound)
	}
	return nil
}

// Discard deletes dead job id; hubsync.ErrNotFound when no dead job has that id.
func (s *Store) Discard(ctx context.Context, id int64) error {
	var n int64
	err := s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, s.sql(discardSQL), id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return interpretError(fmt.Sprintf("discard job %d", id), err)
	}
	if n == 0 {
		return fmt.Errorf("sqlitestore: discard job %d: no dead job with that id: %w", id, hubsync.ErrNotFound)
	}
	return nil
}

// Stats counts a school's jobs by state (see hubsync.QueueStats for what each count holds).
func (s *Store) Stats(ctx context.Context, school hubsync.SchoolID) (hubsync.QueueStats, error) {
	now := ns(s.clk.Now())
	var st hubsync.QueueStats
	err := s.reader().QueryRowContext(ctx, s.sql(statsSQL), now, string(school)).Scan(&st.Ready, &st.Scheduled, &st.Leased, &st.Dead)
	if err != nil {
		return hubsync.QueueStats{}, interpretError(fmt.Sprintf("stats of %s", school), err)
	}
	return st, nil
}

// NextRunAt returns the earliest time a waiting job (including one whose lease expired) becomes
// due across all schools; ok is false when no job waits.
func (s *Store) NextRunAt(ctx context.Context) (time.Time, bool, error) {
	var waiting, expired sql.NullInt64
	q := s.reader()
	err := q.QueryRowContext(ctx, s.sql(nextWaitingSQL)).Scan(&waiting)
	if err == nil {
		err = q.QueryRowContext(ctx, s.sql(nextExpiredSQL),
			ns(s.clk.Now())).Scan(&expired)
	}
	if err != nil {
		return time.Time{}, false, interpretError("next run at", err)
	}
	switch {
	case waiting.Valid && expired.Valid:
		return fromNS(min(waiting.Int64, expired.Int64)), true, nil
	case waiting.Valid:
		return fromNS(waiting.Int64), true, nil
	case expired.Valid:
		return fromNS(expired.Int64), true, nil
	}
	return time.Time{}, false, nil
}
