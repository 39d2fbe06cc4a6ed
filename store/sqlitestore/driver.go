package sqlitestore

import (
	"context"

	"github.com/hubsync/hubsync/store/sqlstore"
)

// core is the engine-facing half of a Store, shared with every SQL driver (package sqlstore); its
// methods (the hubsync.Store ones) are promoted into Store.
type core = sqlstore.Store

// sqliteDriver is the SQLite sqlstore.Driver of one Store: its executor on the pool is the writer for
// writes and the read pool for reads.
type sqliteDriver struct{ pool *executor }

func (d sqliteDriver) Name() string                { return "sqlitestore" }
func (d sqliteDriver) Executor() sqlstore.Executor { return d.pool }
func (d sqliteDriver) Refusing(err error) bool     { return refusing(err) }

// executor is the SQLite sqlstore.Executor. Outside a transaction (tx nil) each write operation
// is one BEGIN IMMEDIATE transaction of the writer (one at a time, see writer) and reads go
// through the read pool; inside one (RunInTx's, or the host's through WithTx) everything runs on
// tx.
type executor struct {
	w     *writer
	r     querier // the read pool's statements
	tx    querier // nil outside a transaction
	texts []string
}

var _ sqlstore.Executor = (*executor)(nil)

// sql returns the text of statement id for the store's prefix.
func (x *executor) sql(id sqlID) string { return x.texts[id] }

// reader returns what reads go through: the transaction when there is one, else the read pool.
func (x *executor) reader() querier {
	if x.tx != nil {
		return x.tx
	}
	return x.r
}

// write runs fn in one immediate transaction of the writer, or in the executor's transaction.
func (x *executor) write(ctx context.Context, fn func(q querier) error) error {
	if x.tx != nil {
		return fn(x.tx)
	}
	return x.w.tx(ctx, fn)
}

// InTx runs fn in one immediate transaction of the writer, or joins the executor's.
func (x *executor) InTx(ctx context.Context, fn func(ctx context.Context, tx sqlstore.Executor) error) error {
	if x.tx != nil {
		return fn(ctx, x)
	}
	return x.w.tx(ctx, func(q querier) error {
		b := *x
		b.tx = q
		return fn(ctx, &b)
	})
}

// exec returns the executor of s (bound to s.tx when s has one).
func (s *Store) exec() *executor {
	return &executor{w: s.w, r: s.rstmts, tx: s.tx, texts: s.texts}
}

// initCore builds s's engine-facing half, once its writer, reads and transaction are set.
func (s *Store) initCore() {
	s.core = sqlstore.New(sqliteDriver{pool: s.exec()}, sqlstore.Config{Clock: s.clk, Sealer: s.sealer, MaxAttempts: s.maxAttempts})
}

// view returns a copy of s bound to the transaction tx.
func (s *Store) view(tx querier) *Store {
	v := *s
	v.tx = tx
	v.core = sqlstore.Bind(s.core, v.exec())
	return &v
}
