package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
)

// RunInTx calls fn with a Store (also the Queue) bound to one transaction, so what fn writes and
// enqueues commits together or not at all. fn's error rolls the transaction back and is returned
// as is, as is a failure to begin or commit. Called on a Store already bound to a transaction
// (RunInTx's, or the host's through WithTx), it runs fn in a savepoint of it. The bound Store must
// not be used after fn returns.
func (s *Store) RunInTx(ctx context.Context, fn func(ctx context.Context, st hubsync.Store, q hubsync.Queue) error) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		bound := s.bound(tx)
		return fn(ctx, bound, bound)
	})
}
