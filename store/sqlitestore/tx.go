package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"modernc.org/sqlite"

	"github.com/hubsync/hubsync"
)

// tx runs fn inside BEGIN IMMEDIATE ... COMMIT on a connection of the writer (see writer),
// rolling back when fn fails; fn runs its statements through q.
//
// The busy timeout bounds the whole wait for the write lock: first for the writer (this
// process's other writes through the store; for New, also for a free connection of the host's
// pool), then for the file's lock (another process's, or another connection's of the host). SQLite's own
// busy_timeout bounds only the second; a write queued behind others that were each waiting out
// their own busy timeout used to wait for all of them (a write waited 9.4 s for a lock another
// process held for 8 s, with a busy timeout of 5 s). With a busy timeout of zero only the wait
// for another process is cut short.
func (w *writer) tx(ctx context.Context, fn func(q querier) error) error {
	lockCtx, cancel := ctx, context.CancelFunc(func() {})
	if w.busy > 0 {
		lockCtx, cancel = context.WithTimeout(ctx, w.busy)
	}
	defer cancel()
	select {
	case w.sem <- struct{}{}:
	case <-lockCtx.Done():
		if ctx.Err() != nil {
			return fmt.Errorf("sqlitestore: waiting for the writer: %w", ctx.Err())
		}
		return w.busyError("this process's other writes")
	}
	defer func() { <-w.sem }()
	conn, q := w.conn, querier(writerQ{w})
	if conn == nil {
		c, err := w.db.Conn(lockCtx)
		if err != nil {
			if ctx.Err() == nil && lockCtx.Err() != nil {
				return w.busyError("a free connection of the host's pool")
			}
			return fmt.Errorf("sqlitestore: begin: taking a connection of the host's pool: %w", err)
		}
		defer c.Close() // back to the pool, after the rollback below when there is one
		conn, q = c, c
	}
	if _, err := conn.ExecContext(lockCtx, "BEGIN IMMEDIATE"); err != nil {
		if ctx.Err() == nil && (lockCtx.Err() != nil || isBusy(err)) {
			return w.busyError("another connection's write lock")
		}
		return fmt.Errorf("sqlitestore: begin: %w", err)
	}
	cancel()
	committed := false
	defer func() {
		if !committed {
			if p := recover(); p != nil {
				// fn panicked: leave the connection out of the transaction, then panic on.
				w.rollback(conn)
				panic(p)
			}
		}
	}()
	if err := fn(q); err != nil {
		committed = true // handled here, not by the deferred rollback
		if rerr := w.rollback(conn); rerr != nil {
			return errors.Join(err, fmt.Errorf("sqlitestore: rollback: %w", rerr))
		}
		return err
	}
	committed = true
	if _, err := conn.ExecContext(context.Background(), "COMMIT"); err != nil {
		_ = w.rollback(conn)
		return fmt.Errorf("sqlitestore: commit: %w", err)
	}
	return nil
}

// rollback rolls back the transaction on conn, with a background context: it must run even when
// the caller's context ended. When it fails on a connection of the host's pool, that connection
// goes out of the pool (closed), so that no later user of the pool finds it inside the store's
// transaction.
func (w *writer) rollback(conn *sql.Conn) error {
	_, err := conn.ExecContext(context.Background(), "ROLLBACK")
	if err != nil && w.conn == nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	return err
}

// ErrBusy is wrapped by the error of a write that waited out the busy timeout (WithBusyTimeout)
// for the write lock: another connection, or this process's other writes, held it all along.
// Nothing of that write was done; it can be tried again. Such an error matches
// hubsync.ErrUnavailable too.
var ErrBusy = errors.New("sqlitestore: database is locked (SQLITE_BUSY)")

func (w *writer) busyError(holder string) error {
	return fmt.Errorf("sqlitestore: begin: %w: waited the busy timeout (%v) for %s (%w)", ErrBusy, w.busy, holder, hubsync.ErrUnavailable)
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (any extended code of it).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == 5
}
