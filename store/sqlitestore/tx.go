package sqlitestore

import (
	"context"
	"errors"
	"fmt"

	"modernc.org/sqlite"

	"github.com/hubsync/hubsync"
)

// RunInTx calls fn with a Store and Queue bound to one immediate transaction: everything fn does
// commits together when it returns nil, or is rolled back when it returns an error (which RunInTx
// returns). Other writers of this Store wait until fn returns, so fn must not call the outer
// Store. Inside fn, RunInTx joins the running transaction.
func (s *Store) RunInTx(ctx context.Context, fn func(ctx context.Context, st hubsync.Store, q hubsync.Queue) error) error {
	if s.inTx {
		return fn(ctx, s, s)
	}
	view := *s
	view.inTx = true
	return s.w.tx(ctx, func() error { return fn(ctx, &view, &view) })
}

// tx runs fn inside BEGIN IMMEDIATE ... COMMIT on the writer, rolling back when fn fails.
//
// The busy timeout bounds the whole wait for the write lock: first for the writer connection
// (this process's other writes), then for the file's lock (another process's). SQLite's own
// busy_timeout bounds only the second; a write queued behind others that were each waiting out
// their own busy timeout used to wait for all of them (a write waited 9.4 s for a lock another
// process held for 8 s, with a busy timeout of 5 s). With a busy timeout of zero only the wait
// for another process is cut short.
func (w *writer) tx(ctx context.Context, fn func() error) error {
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
	if _, err := w.conn.ExecContext(lockCtx, "BEGIN IMMEDIATE"); err != nil {
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
				_, _ = w.conn.ExecContext(context.Background(), "ROLLBACK")
				panic(p)
			}
		}
	}()
	if err := fn(); err != nil {
		committed = true // handled here, not by the deferred rollback
		// A background context: the rollback must run even when ctx ended.
		if _, rerr := w.conn.ExecContext(context.Background(), "ROLLBACK"); rerr != nil {
			return errors.Join(err, fmt.Errorf("sqlitestore: rollback: %w", rerr))
		}
		return err
	}
	committed = true
	if _, err := w.conn.ExecContext(context.Background(), "COMMIT"); err != nil {
		_, _ = w.conn.ExecContext(context.Background(), "ROLLBACK")
		return fmt.Errorf("sqlitestore: commit: %w", err)
	}
	return nil
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
