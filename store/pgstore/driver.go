package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hubsync/hubsync/store/sqlstore"
)

// core is the engine-facing half of a Store, shared with every SQL driver (package sqlstore); its
// methods (the hubsync.Store ones) are promoted into Store.
type core = sqlstore.Store

// driver is the PostgreSQL sqlstore.Driver of one Store configuration.
type driver struct {
	pool *pgxpool.Pool
	cfg  *config
}

func (d driver) Name() string                { return "pgstore" }
func (d driver) Executor() sqlstore.Executor { return &executor{db: d.pool, cfg: d.cfg, onPool: true} }
func (d driver) Refusing(err error) bool     { return refusing(err) }
func (d driver) bind(tx pgx.Tx) *executor    { return &executor{db: tx, cfg: d.cfg} }
func (d driver) sqlCfg() sqlstore.Config {
	return sqlstore.Config{Clock: d.cfg.clock, Sealer: d.cfg.sealer, MaxAttempts: d.cfg.maxAttempts}
}
func newCore(pool *pgxpool.Pool, cfg *config) *core {
	return sqlstore.New(driver{pool: pool, cfg: cfg}, driver{cfg: cfg}.sqlCfg())
}

// executor is the PostgreSQL sqlstore.Executor: the store's SQL run on the pool or on one
// transaction (RunInTx's, or the host's through WithTx).
type executor struct {
	db     dbtx
	cfg    *config
	onPool bool // db is the pool: WithAsyncAcks may apply, and school ids read are kept
}

var _ sqlstore.Executor = (*executor)(nil)

// sql returns the text of statement id for the store's schema.
func (x *executor) sql(id stmt) string { return x.cfg.sql[id] }

// InTx runs fn in a transaction of x's pool, or in a savepoint of x's transaction.
func (x *executor) InTx(ctx context.Context, fn func(ctx context.Context, tx sqlstore.Executor) error) error {
	return pgx.BeginFunc(ctx, x.db, func(tx pgx.Tx) error {
		return fn(ctx, &executor{db: tx, cfg: x.cfg})
	})
}
