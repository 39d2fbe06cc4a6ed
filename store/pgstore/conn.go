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

// jobExec runs one job-lifecycle statement (Ack, Retry, Release, Kill). With WithAsyncAcks on a pool it
// runs in its own transaction with synchronous_commit off, in one round trip; otherwise as is.
func (s *Store) jobExec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if !s.cfg.asyncAcks || s.pool == nil {
		return s.db.Exec(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(`SET LOCAL synchronous_commit TO off`)
	b.Queue(sql, args...)
	b.Queue(`COMMIT`)
	br := s.db.SendBatch(ctx, b)
	_, err := br.Exec()
	if err == nil {
		_, err = br.Exec()
	}
	var tag pgconn.CommandTag
	if err == nil {
		tag, err = br.Exec()
	}
	if err == nil {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// jobQuery is jobExec for a statement returning rows, which scan reads.
func (s *Store) jobQuery(ctx context.Context, scan func(pgx.Rows) error, sql string, args ...any) error {
	if !s.cfg.asyncAcks || s.pool == nil {
		rows, err := s.db.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		return scan(rows)
	}
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(`SET LOCAL synchronous_commit TO off`)
	b.Queue(sql, args...)
	b.Queue(`COMMIT`)
	br := s.db.SendBatch(ctx, b)
	_, err := br.Exec()
	if err == nil {
		_, err = br.Exec()
	}
	if err == nil {
		var rows pgx.Rows
		rows, err = br.Query()
		if err == nil {
			err = scan(rows)
		}
	}
	if err == nil {
		_, err = br.Exec()
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
