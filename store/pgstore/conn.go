package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

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
