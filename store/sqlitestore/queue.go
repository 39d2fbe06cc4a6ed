package sqlitestore

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlstore"
)

// This file is the executor's half for hubsync.Queue; the engine-facing logic (checks, defaults,
// lease tokens, errors) is package sqlstore's. Every write is one immediate transaction of the
// single writer, so no two of them interleave, in this process or another.

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
	// leaseJobsSQL leases a chunk of jobs no lease held before (their attempts and last error
	// stay), one statement per chunk instead of one per job (see multirow.go).
	leaseJobsSQL     = multiRowSQLTail(`UPDATE {p}jobs SET lease_token = ?, lease_until = ?, worker = ? WHERE id IN (`, `?`, `, `, `)`)
	markServedSQL    = sqlText(`UPDATE {p}queue_schools SET served = (SELECT MAX(served) FROM {p}queue_schools) + 1 WHERE school = ?`)
	schoolsByTurnSQL = sqlText(`SELECT q.school FROM {p}queue_schools q
		WHERE EXISTS (SELECT 1 FROM {p}jobs j WHERE j.school = q.school AND j.dead_at IS NULL AND j.run_at <= ?)
		ORDER BY q.served, q.school`)
	ackSQL = sqlText(`DELETE FROM {p}jobs WHERE id = ? AND lease_token = ? AND dead_at IS NULL`)
	// ackManySQL is ackSQL for a chunk of leases: ORed equalities on the primary key, each
	// looked up on its own, returning the leases it found.
	ackManySQL = multiRowSQLTail(`DELETE FROM {p}jobs WHERE `, `(id = ? AND lease_token = ? AND dead_at IS NULL)`, ` OR `,
		` RETURNING id, lease_token`)
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
	// statsColumnsSQL are the four counts of hubsync.QueueStats at ?1.
	statsSQL = sqlText(`SELECT ` + statsColumnsSQL + ` FROM {p}jobs WHERE school = ?2`)
	// statsByKindSQL is statsSQL by kind.
	statsByKindSQL = sqlText(`SELECT kind, ` + statsColumnsSQL + ` FROM {p}jobs WHERE school = ?2 GROUP BY kind`)
	// readySQL and readyTailSQL are the query of ready, before and after its optional kind filter.
	readySQL = sqlText(`SELECT ` + jobColumns + ` FROM {p}jobs j
		WHERE j.school = ? AND j.dead_at IS NULL AND j.run_at <= ? AND (j.lease_token IS NULL OR j.lease_until <= ?)`)
	readyTailSQL = sqlText(` AND (j.key = '' OR NOT EXISTS (SELECT 1 FROM {p}jobs o
			WHERE o.school = j.school AND o.key = j.key AND o.key <> '' AND o.dead_at IS NULL AND o.id <> j.id
			AND (o.lease_token IS NOT NULL OR (j.lease_token IS NULL AND o.id < j.id))))
		ORDER BY j.priority, j.run_at, j.id LIMIT ?`)
	// busySchoolsSQL is busySchools's query, before its key filter.
	busySchoolsSQL = sqlText(`SELECT DISTINCT school FROM {p}jobs
		WHERE dead_at IS NULL AND lease_token IS NOT NULL AND lease_until > ?`)
	deadLettersSQL = sqlText(`SELECT ` + jobColumns + ` FROM {p}jobs
		WHERE school = ? AND dead_at IS NOT NULL ORDER BY dead_at, id`)
	nextWaitingSQL = sqlText(`SELECT MIN(run_at) FROM {p}jobs WHERE dead_at IS NULL AND lease_token IS NULL`)
	nextExpiredSQL = sqlText(`SELECT MIN(lease_until) FROM {p}jobs WHERE dead_at IS NULL AND lease_token IS NOT NULL AND lease_until <= ?`)
)

const statsColumnsSQL = `COALESCE(SUM(dead_at IS NULL AND (lease_token IS NULL AND run_at <= ?1 OR lease_token IS NOT NULL AND lease_until <= ?1)), 0),
			COALESCE(SUM(dead_at IS NULL AND lease_token IS NULL AND run_at > ?1), 0),
			COALESCE(SUM(dead_at IS NULL AND lease_token IS NOT NULL AND lease_until > ?1), 0),
			COALESCE(SUM(dead_at IS NOT NULL), 0)`

// JobInsert coalesces each keyed job with one UPDATE of the key's newest waiting job, and inserts
// it when that touched nothing; the single writer serialises racing enqueues.
func (x *executor) JobInsert(ctx context.Context, jobs []sqlstore.JobInsertRow, now time.Time) error {
	return x.write(ctx, func(q querier) error {
		seen := map[string]bool{}
		for _, j := range jobs {
			runAt := ns(j.RunAt)
			if !seen[j.School] {
				seen[j.School] = true
				if _, err := q.ExecContext(ctx, x.sql(addQueueSchoolSQL), j.School); err != nil {
					return err
				}
			}
			if j.Key != "" {
				res, err := q.ExecContext(ctx, x.sql(coalesceJobSQL), j.Kind, j.Payload, j.Priority, runAt, j.School, j.Key)
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
			if _, err := q.ExecContext(ctx, x.sql(insertJobSQL), j.School, j.Kind, j.Key, j.Payload, j.Priority, runAt, ns(now)); err != nil {
				return err
			}
		}
		return nil
	})
}

// jobColumns are the columns scanJob reads, in order.
const jobColumns = `id, school, kind, key, payload, priority, run_at, attempts, last_error, lease_token, lease_until, enqueued_at`

type scanner interface{ Scan(dest ...any) error }

func scanJob(r scanner) (sqlstore.JobRow, error) {
	var j sqlstore.JobRow
	var runAt, enqueued int64
	var token sql.NullString
	var until sql.NullInt64
	if err := r.Scan(&j.ID, &j.School, &j.Kind, &j.Key, &j.Payload, &j.Priority, &runAt, &j.Attempts, &j.LastError, &token, &until, &enqueued); err != nil {
		return sqlstore.JobRow{}, err
	}
	j.RunAt, j.EnqueuedAt = fromNS(runAt), fromNS(enqueued)
	j.LeaseToken, j.LeaseUntil = token.String, fromNS(until.Int64)
	return j, nil
}

// JobLease runs in one immediate transaction: it dead-letters the jobs whose expired lease would
// reach the maximum attempts, then takes the schools with a due live job by turn and leases from
// the first that has a ready one, marking it served.
func (x *executor) JobLease(ctx context.Context, p sqlstore.JobLeaseParams) ([]sqlstore.JobRow, error) {
	var out []sqlstore.JobRow
	err := x.write(ctx, func(q querier) error {
		out = out[:0]
		now := ns(p.Now)
		// A job that keeps outliving its workers' leases: its last try counts, and it is dead.
		if _, err := q.ExecContext(ctx, x.sql(killExpiredSQL), now, p.MaxAttempts); err != nil {
			return err
		}
		schools, err := x.schoolsByTurn(ctx, q, now)
		if err != nil {
			return err
		}
		busy, err := x.busySchools(ctx, q, now, p.BusyKeys)
		if err != nil {
			return err
		}
		for _, school := range schools {
			if slices.Contains(p.Exclude, school) || (len(p.Schools) > 0 && !slices.Contains(p.Schools, school)) || busy[school] {
				continue
			}
			jobs, err := x.ready(ctx, q, school, now, p.Max, p.Kinds)
			if err != nil {
				return err
			}
			if len(jobs) == 0 {
				continue
			}
			var fresh []int64 // jobs no lease held: leased in chunks
			for _, j := range jobs {
				if j.LeaseToken == "" {
					fresh = append(fresh, j.ID)
				} else {
					// Taken over from a worker whose lease ran out: that try counts.
					j.Attempts++
					j.LastError = "sqlitestore: lease expired at " + j.LeaseUntil.Format(time.RFC3339Nano) + " before the worker finished"
					if _, err := q.ExecContext(ctx, x.sql(leaseJobSQL), p.Token, ns(p.Until), p.Worker, j.Attempts, j.LastError, j.ID); err != nil {
						return err
					}
				}
				j.LeaseToken, j.LeaseUntil = p.Token, p.Until
				out = append(out, j)
			}
			until := ns(p.Until)
			err = x.execChunks(ctx, q, leaseJobsSQL, len(fresh), 1, func(args []any, from, to int) []any {
				args = append(args, p.Token, until, p.Worker)
				for _, id := range fresh[from:to] {
					args = append(args, id)
				}
				return args
			})
			if err != nil {
				return err
			}
			_, err = q.ExecContext(ctx, x.sql(markServedSQL), school)
			return err
		}
		return nil
	})
	return out, err
}

// schoolsByTurn lists the schools with a live job due by now, least recently served first. (A
// school listed may still have nothing to lease: its due jobs may be leased or behind others.)
func (x *executor) schoolsByTurn(ctx context.Context, q querier, now int64) ([]string, error) {
	rows, err := q.QueryContext(ctx, x.sql(schoolsByTurnSQL), now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// busySchools returns the schools with a job of one of keys under a lease not run out at now
// (none when keys is empty): JobLeaseParams.BusyKeys. The leased jobs are few (the jobs_leased
// index holds only them), so this is one small index scan.
func (x *executor) busySchools(ctx context.Context, q querier, now int64, keys []string) (map[string]bool, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	args := []any{now}
	for _, k := range keys {
		args = append(args, k)
	}
	rows, err := q.QueryContext(ctx, x.sql(busySchoolsSQL)+` AND key IN (?`+strings.Repeat(`, ?`, len(keys)-1)+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// ready returns up to max jobs of school that may be leased at now: due, not dead, not under an
// unexpired lease, of one of kinds (when given), and first in line for their key. A job is
// behind another of its key when that one is leased (even expired) or, for a job not itself
// leased, was enqueued earlier.
func (x *executor) ready(ctx context.Context, q querier, school string, now int64, max int, kinds []string) ([]sqlstore.JobRow, error) {
	query := x.sql(readySQL)
	args := []any{school, now, now}
	if len(kinds) > 0 {
		query += ` AND j.kind IN (?` + strings.Repeat(`, ?`, len(kinds)-1) + `)`
		for _, k := range kinds {
			args = append(args, k)
		}
	}
	query += x.sql(readyTailSQL)
	args = append(args, max)
	return x.jobs(ctx, q, query, args...)
}

// jobs runs a query of jobColumns on q.
func (x *executor) jobs(ctx context.Context, q querier, query string, args ...any) ([]sqlstore.JobRow, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sqlstore.JobRow
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// changed runs one statement as its own write and reports whether it touched a row.
func (x *executor) changed(ctx context.Context, id sqlID, args ...any) (bool, error) {
	n, err := x.exec(ctx, id, args...)
	return n > 0, err
}

func (x *executor) JobAck(ctx context.Context, id int64, token string) (bool, error) {
	return x.changed(ctx, ackSQL, id, token)
}

func (x *executor) JobRetry(ctx context.Context, p sqlstore.JobRetryParams) (bool, error) {
	return x.changed(ctx, retrySQL, p.Cause, ns(p.RunAt), p.MaxAttempts, ns(p.Now), p.ID, p.Token)
}

func (x *executor) JobRelease(ctx context.Context, id int64, token string, runAt time.Time) (bool, error) {
	return x.changed(ctx, releaseSQL, ns(runAt), id, token)
}

// JobAckMany deletes the leases' jobs in chunks (ackManySQL), in one immediate transaction: one
// commit, and a statement per chunk instead of one per lease.
func (x *executor) JobAckMany(ctx context.Context, leases []sqlstore.Lease) ([]bool, error) {
	found := make(map[sqlstore.Lease]bool, len(leases))
	err := x.write(ctx, func(q querier) error {
		args := make([]any, 0, 2*min(len(leases), multiRowChunks[0]))
		for from := 0; from < len(leases); {
			size := chunkSize(len(leases) - from)
			args = args[:0]
			for _, l := range leases[from : from+size] {
				args = append(args, l.ID, l.Token)
			}
			rows, err := q.QueryContext(ctx, x.sql(ackManySQL[size]), args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var l sqlstore.Lease
				if err := rows.Scan(&l.ID, &l.Token); err != nil {
					rows.Close()
					return err
				}
				found[l] = true
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if err := rows.Err(); err != nil {
				return err
			}
			from += size
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(leases))
	for i, l := range leases {
		out[i] = found[l]
	}
	return out, nil
}

// JobReleaseMany is JobAckMany with JobRelease's UPDATE.
func (x *executor) JobReleaseMany(ctx context.Context, leases []sqlstore.Lease, runAt time.Time) ([]bool, error) {
	at := ns(runAt)
	return x.leasedMany(ctx, leases, func(l sqlstore.Lease) (sqlID, []any) { return releaseSQL, []any{at, l.ID, l.Token} })
}

// leasedMany runs the statement stmt gives for each lease in one immediate transaction and
// reports for each whether it changed a row.
func (x *executor) leasedMany(ctx context.Context, leases []sqlstore.Lease, stmt func(sqlstore.Lease) (sqlID, []any)) ([]bool, error) {
	out := make([]bool, len(leases))
	err := x.write(ctx, func(q querier) error {
		for i, l := range leases {
			id, args := stmt(l)
			res, err := q.ExecContext(ctx, x.sql(id), args...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			out[i] = n > 0
		}
		return nil
	})
	return out, err
}

func (x *executor) JobKill(ctx context.Context, id int64, token, cause string, now time.Time) (bool, error) {
	return x.changed(ctx, killSQL, cause, ns(now), id, token)
}

// JobExtend runs one prepared UPDATE per lease, in one immediate transaction.
func (x *executor) JobExtend(ctx context.Context, leases []sqlstore.Lease, until time.Time) ([]bool, error) {
	end := ns(until)
	return x.leasedMany(ctx, leases, func(l sqlstore.Lease) (sqlID, []any) { return extendSQL, []any{end, l.ID, l.Token} })
}

func (x *executor) JobHolders(ctx context.Context, now time.Time) ([]string, error) {
	rows, err := x.reader().QueryContext(ctx, x.sql(holdersSQL), ns(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var w string
		if err := rows.Scan(&w); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

func (x *executor) JobExpireLeases(ctx context.Context, worker string, now time.Time) (int, error) {
	n, err := x.exec(ctx, expireLeasesSQL, ns(now), worker)
	return int(n), err
}

func (x *executor) JobDeadLetters(ctx context.Context, school string) ([]sqlstore.JobRow, error) {
	return x.jobs(ctx, x.reader(), x.sql(deadLettersSQL), school)
}

// JobReplay keeps the job's id, so it keeps its place among its key's waiting jobs.
func (x *executor) JobReplay(ctx context.Context, id int64, now time.Time) (bool, error) {
	return x.changed(ctx, replaySQL, ns(now), id)
}

func (x *executor) JobDiscard(ctx context.Context, id int64) (bool, error) {
	return x.changed(ctx, discardSQL, id)
}

func (x *executor) JobStats(ctx context.Context, school string, now time.Time) (hubsync.QueueStats, error) {
	var st hubsync.QueueStats
	err := x.reader().QueryRowContext(ctx, x.sql(statsSQL), ns(now), school).Scan(&st.Ready, &st.Scheduled, &st.Leased, &st.Dead)
	return st, err
}

func (x *executor) JobStatsByKind(ctx context.Context, school string, now time.Time) (map[string]hubsync.QueueStats, error) {
	rows, err := x.reader().QueryContext(ctx, x.sql(statsByKindSQL), ns(now), school)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]hubsync.QueueStats{}
	for rows.Next() {
		var kind string
		var st hubsync.QueueStats
		if err := rows.Scan(&kind, &st.Ready, &st.Scheduled, &st.Leased, &st.Dead); err != nil {
			return nil, err
		}
		out[kind] = st
	}
	return out, rows.Err()
}

// JobNextRunAt counts the end of an expired lease too (a job to take over is due then).
func (x *executor) JobNextRunAt(ctx context.Context, now time.Time) (time.Time, bool, error) {
	var waiting, expired sql.NullInt64
	q := x.reader()
	err := q.QueryRowContext(ctx, x.sql(nextWaitingSQL)).Scan(&waiting)
	if err == nil {
		err = q.QueryRowContext(ctx, x.sql(nextExpiredSQL), ns(now)).Scan(&expired)
	}
	switch {
	case err != nil:
		return time.Time{}, false, err
	case waiting.Valid && expired.Valid:
		return fromNS(min(waiting.Int64, expired.Int64)), true, nil
	case waiting.Valid:
		return fromNS(waiting.Int64), true, nil
	case expired.Valid:
		return fromNS(expired.Int64), true, nil
	}
	return time.Time{}, false, nil
}
