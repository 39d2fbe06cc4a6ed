package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"
)

// querier is what the store's SQL runs through: the writer connection or the read pool, both
// with prepared statements cached by query text.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// writer is what every write transaction of a store goes through, one at a time: holding sem is
// holding the right to write. For Open it is the store's one writer connection, conn:
// transactions are plain BEGIN IMMEDIATE / COMMIT statements on it, so statements prepared on it
// stay valid across transactions (parsing SQL is most of the cost otherwise). For New, conn is
// nil and each transaction takes a connection of the host's pool db for its BEGIN IMMEDIATE ...
// COMMIT and gives it back after, statements unprepared (a statement prepared on a *sql.Conn
// dies with it).
type writer struct {
	db    *sql.DB
	conn  *sql.Conn // nil: the host's pool (New), which the store does not close
	sem   chan struct{}
	stmts map[string]*sql.Stmt // guarded by sem
	busy  time.Duration        // the busy timeout: the longest wait for the write lock
}

// stmt returns the prepared statement for query; the caller holds sem.
func (w *writer) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := w.stmts[query]; ok {
		return st, nil
	}
	st, err := w.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	w.stmts[query] = st
	return st, nil
}

func (w *writer) close() error {
	if w.conn == nil {
		return nil // the host's pool: the host closes it
	}
	var errs []error
	for _, st := range w.stmts {
		errs = append(errs, st.Close())
	}
	return errors.Join(append(errs, w.conn.Close(), w.db.Close())...)
}

// writerQ runs statements on the writer connection; only used while holding its sem.
type writerQ struct{ w *writer }

func (q writerQ) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := q.w.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (q writerQ) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := q.w.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (q writerQ) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := q.w.stmt(ctx, query)
	if err != nil {
		// QueryRowContext on the connection reports the same preparation error through Scan.
		return q.w.conn.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// stmtCache runs statements on the read pool, prepared once per query text (database/sql
// re-prepares them on each pooled connection as needed).
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func (c *stmtCache) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.m[query] = st
	return st, nil
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.m {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}

func (c *stmtCache) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (c *stmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (c *stmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return c.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// reader returns what reads go through: the store's transaction (RunInTx's or WithTx's) when it
// has one, else the read pool (Open's own, or the host's for New).
func (s *Store) reader() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.rstmts
}

// ns encodes a time as Unix nanoseconds, the zero time as 0.
func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNS decodes what ns encoded, in UTC.
func fromNS(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
