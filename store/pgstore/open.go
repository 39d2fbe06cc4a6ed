package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hubsync/hubsync"
)

// Store is a PostgreSQL-backed hubsync.Store, hubsync.Queue and hubsync.Transactor. It is safe
// for concurrent use, and any number of Stores (in one process or many) may share one database
// and schema. A Store passed to a RunInTx function is bound to that transaction.
type Store struct {
	pool *pgxpool.Pool // nil for a transaction-bound Store
	db   dbtx          // the pool, or the transaction
	cfg  *config
}

var (
	_ hubsync.Store      = (*Store)(nil)
	_ hubsync.Queue      = (*Store)(nil)
	_ hubsync.Transactor = (*Store)(nil)
)

// dbtx is what both *pgxpool.Pool and pgx.Tx offer; Begin on a pgx.Tx makes a savepoint.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Open connects to the PostgreSQL database at url (a postgres:// URL or a keyword/value DSN, as
// pgx accepts), applies the embedded migrations to the configured schema and returns the Store.
// It fails with an error naming the problem when an option is invalid, the URL cannot be parsed,
// the database cannot be reached, or a migration fails. The error never contains the password.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors redact the password already; say what failed in our own words anyway.
		return nil, fmt.Errorf("pgstore: cannot parse the database URL: %w", err)
	}
	pc.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{cfg.schema}.Sanitize()
	if cfg.maxConns > 0 {
		pc.MaxConns = cfg.maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connecting: %w", err)
	}
	s := &Store{pool: pool, db: pool, cfg: &cfg}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: connecting to %s:%d: %w", pc.ConnConfig.Host, pc.ConnConfig.Port, err)
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the connection pool. It does nothing on a transaction-bound Store.
func (s *Store) Close() {
	if s.pool != nil {
		s.pool.Close()
	}
}

// Schema returns the PostgreSQL schema holding the store's tables.
func (s *Store) Schema() string { return s.cfg.schema }

// now is the injected clock's time, in UTC (timestamptz keeps microseconds).
func (s *Store) now() time.Time { return s.cfg.clock.Now().UTC() }

// retryable reports a PostgreSQL error that a fresh transaction may not meet again: a
// serialization failure (40001) or a deadlock (40P01).
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
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
