package sqlitestore

import (
	"context"
	"errors"
	"fmt"

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
func (w *writer) tx(ctx context.Context, fn func() error) error {
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("sqlitestore: waiting for the writer: %w", ctx.Err())
	}
	defer func() { <-w.sem }()
	if _, err := w.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("sqlitestore: begin: %w", err)
	}
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
