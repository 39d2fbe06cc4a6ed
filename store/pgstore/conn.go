package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// dbtx is what both *pgxpool.Pool and pgx.Tx offer; Begin on a pgx.Tx makes a savepoint.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	Begin(ctx context.Context) (pgx.Tx, error)
}

// relaxed reports whether job-lifecycle statements commit without waiting for the WAL flush:
// with WithAsyncAcks, on a pool (inside RunInTx the caller's transaction decides).
func (x *executor) relaxed() bool { return x.cfg.asyncAcks && x.onPool }

// jobExec runs one job-lifecycle statement (Ack, Retry, Release, Kill): in a relaxed transaction
// when s is relaxed, as is otherwise.
func (x *executor) jobExec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if !x.relaxed() {
		return x.db.Exec(ctx, sql, args...)
	}
	var tag pgconn.CommandTag
	err := x.relaxedTx(ctx, sql, args, func(br pgx.BatchResults) (err error) {
		tag, err = br.Exec()
		return err
	})
	return tag, err
}

// jobQuery is jobExec for a statement returning rows (Dequeue's lease), which scan reads.
func (x *executor) jobQuery(ctx context.Context, scan func(pgx.Rows) error, sql string, args ...any) error {
	if !x.relaxed() {
		rows, err := x.db.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		return scan(rows)
	}
	return x.relaxedTx(ctx, sql, args, func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		return scan(rows)
	})
}

// relaxedTx runs one statement in its own transaction with synchronous_commit off, in one round
// trip: BEGIN, SET LOCAL, the statement, COMMIT, sent as one batch. read takes the statement's
// result from the batch; the first error of any of the four is returned.
func (x *executor) relaxedTx(ctx context.Context, sql string, args []any, read func(pgx.BatchResults) error) error {
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(`SET LOCAL synchronous_commit TO off`)
	b.Queue(sql, args...)
	b.Queue(`COMMIT`)
	br := x.db.SendBatch(ctx, b)
	_, err := br.Exec() // BEGIN
	if err == nil {
		_, err = br.Exec() // SET LOCAL
	}
	if err == nil {
		err = read(br)
	}
	if err == nil {
		_, err = br.Exec() // COMMIT
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// nullTime maps the zero time to SQL NULL so it round-trips as the zero time.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// fromNull is the inverse of nullTime.
func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
