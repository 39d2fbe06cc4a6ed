package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/store/sqlstore"
)

// Defaults for the options.
const (
	// SchemaDefault is the PostgreSQL schema that holds the tables.
	SchemaDefault = "hubsync"
	// LeaseDefault is the lease Dequeue grants when DequeueOptions.Lease is zero (a negative one
	// is an error).
	LeaseDefault = sqlstore.LeaseDefault
	// MaxBatchDefault caps DequeueOptions.Max.
	MaxBatchDefault = sqlstore.MaxBatchDefault
)

// Store is a PostgreSQL-backed hubsync.Store, hubsync.Queue and hubsync.Transactor. It is safe
// for concurrent use, and any number of Stores (in one process or many) may share one database
// and schema. A Store passed to a RunInTx function is bound to that transaction.
//
// Its methods of those interfaces (and StatsByKind) are package sqlstore's Store, which holds
// the engine-facing logic of every SQL store; this package is its PostgreSQL driver (the SQL, the
// row locking, the error classification). See sqlstore.Store for their documentation.
type Store struct {
	*core               // the hubsync.Store methods, over the executor of db
	pool  *pgxpool.Pool // nil for a transaction-bound Store
	owned bool          // Open made pool, so Close closes it; New's pool is the host's
	db    dbtx          // the pool, or the transaction
	cfg   *config
}

var (
	_ hubsync.Store            = (*Store)(nil)
	_ hubsync.Queue            = (*Store)(nil)
	_ hubsync.Transactor       = (*Store)(nil)
	_ hubsync.SyncStateBatcher = (*Store)(nil)
)

// Option configures Open and New.
type Option func(*config) error

type config struct {
	clock       hubsync.Clock
	maxAttempts int
	schema      string
	logger      *slog.Logger
	maxConns    int32
	asyncAcks   bool
	autoMigrate bool
	sealer      hubsync.Sealer // nil: tokens are stored as given
	sql         []string       // the statements for schema, indexed by stmt (see statements)
	schoolIDs   sync.Map       // school -> its int32 id in the schools table (schools.go)
}

// newConfig applies opts to the defaults and builds the statements for the chosen schema.
func newConfig(opts []Option) (*config, error) {
	cfg := &config{clock: clock.Real(), maxAttempts: hubsync.MaxAttemptsDefault, schema: SchemaDefault,
		logger: slog.New(slog.DiscardHandler), autoMigrate: true}
	for _, o := range opts {
		if err := o(cfg); err != nil {
			return nil, err
		}
	}
	cfg.sql = statements(cfg.schema)
	return cfg, nil
}

// WithClock sets the time source (nil means real time). Every time the store records or compares
// comes from it.
func WithClock(c hubsync.Clock) Option {
	return func(cfg *config) error { cfg.clock = clock.Or(c); return nil }
}

// WithMaxAttempts sets how many failed tries a job gets: the Retry that brings its attempt count to
// n dead-letters it. n must be at least 1; Open fails with an error naming it otherwise.
// The default is hubsync.MaxAttemptsDefault.
func WithMaxAttempts(n int) Option {
	return func(cfg *config) error {
		if n < 1 {
			return fmt.Errorf("pgstore: WithMaxAttempts: max attempts must be at least 1, got %d", n)
		}
		cfg.maxAttempts = n
		return nil
	}
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// WithSchema sets the PostgreSQL schema that holds the store's tables (created if missing). It
// must be a lower-case SQL identifier (letters, digits, underscore, at most 63 bytes); Open fails
// with an error naming it otherwise. The default is SchemaDefault. Stores with different schemas
// in one database are fully independent.
func WithSchema(name string) Option {
	return func(cfg *config) error {
		if err := checkSchemaName("WithSchema", name); err != nil {
			return err
		}
		cfg.schema = name
		return nil
	}
}

// checkSchemaName fails, naming op, when name is not a schema name WithSchema accepts.
func checkSchemaName(op, name string) error {
	if !schemaName.MatchString(name) {
		return fmt.Errorf("pgstore: %s: schema %q is not a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63 bytes)", op, name)
	}
	return nil
}

// WithLogger sets the logger for migrations and retried transactions (nil: no logging).
func WithLogger(l *slog.Logger) Option {
	return func(cfg *config) error {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		cfg.logger = l
		return nil
	}
}

// WithSealer makes the store seal every connection's access and refresh tokens with s before
// writing them, and open them after reading (see hubsync.SealToken and hubsync.OpenToken; package
// seal's Keyring is the standard Sealer). Tokens written before, in plain text, still read and are
// sealed on the connection's next write (hubsync.ResealConnections writes them all at once). nil,
// the default, stores tokens as given, and a sealed token then fails to read with an error
// wrapping hubsync.ErrUnseal. The stored form is the same as sqlitestore's.
func WithSealer(s hubsync.Sealer) Option {
	return func(cfg *config) error { cfg.sealer = s; return nil }
}

// WithMaxConns caps the connection pool's size (default: pgxpool's, or pool_max_conns in the URL).
// n must be at least 1. It applies to Open's own pool only: New fails with an error naming it, as
// the host sizes its pool where it makes it.
func WithMaxConns(n int) Option {
	return func(cfg *config) error {
		if n < 1 || n > 1<<20 {
			return fmt.Errorf("pgstore: WithMaxConns: max conns must be between 1 and %d, got %d", 1<<20, n)
		}
		cfg.maxConns = int32(n)
		return nil
	}
}

// WithAsyncAcks(true) makes Ack, Retry, Release, Kill and Dequeue's lease commit without waiting
// for PostgreSQL to flush its write-ahead log (synchronous_commit off for those transactions
// only), which on a disk with slow fsync multiplies a worker's throughput. The price is bounded: a
// database crash can forget the last moments of those commits, and a forgotten Ack, Retry,
// Release or Kill makes the job run again once its lease expires (at least once, as after a
// worker crash), a forgotten lease makes the job ready again at once. Enqueue, RunInTx and every
// Store write stay synchronous, so no job and no state change is lost. Off by default. It does not
// apply to a Store bound to a transaction (RunInTx's, WithTx's): that transaction's commit decides.
func WithAsyncAcks(on bool) Option {
	return func(cfg *config) error { cfg.asyncAcks = on; return nil }
}

// WithAutoMigrate(false) makes Open and New check the schema instead of migrating it: they fail
// with an error wrapping ErrSchemaVersion, naming the versions, when a migration of [Migrations]
// is missing, or when the schema records a version this package does not know (a newer hubsync
// migrated the database; run that one). With it a host applies the migrations with its own tool
// (see Migrations), and a role without DDL rights runs the store. On by default: Open and New apply
// the missing migrations, under an advisory lock so instances starting together apply each once,
// and refuse a schema with a version they do not know as well.
func WithAutoMigrate(on bool) Option {
	return func(cfg *config) error { cfg.autoMigrate = on; return nil }
}

// Open connects to the PostgreSQL database at url (a postgres:// URL or a keyword/value DSN, as
// pgx accepts), applies the embedded migrations to the configured schema (or checks them, see
// WithAutoMigrate) and returns the Store, which owns its pool: Close closes it. It fails with an
// error naming the problem when an option is invalid, the URL cannot be parsed, the database
// cannot be reached, or a migration fails. The error never contains the password.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors redact the password already; say what failed in our own words anyway.
		return nil, fmt.Errorf("pgstore: cannot parse the database URL: %w", err)
	}
	if cfg.maxConns > 0 {
		pc.MaxConns = cfg.maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connecting: %w", err)
	}
	s := &Store{core: newCore(pool, cfg), pool: pool, owned: true, db: pool, cfg: cfg}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: connecting to %s:%d: %w", pc.ConnConfig.Host, pc.ConnConfig.Port, err)
	}
	if err := s.prepareSchema(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// New returns a Store over the host's pool, with its tables in the configured schema (WithSchema),
// which it migrates or checks (WithAutoMigrate) before returning. It opens no connection of its
// own, and the pool stays the host's: Close leaves it open, and the host closes it after the
// Store's last use. Every statement names the schema, so the pool's search_path is the host's
// business, and a host table of the same name as one of the store's (jobs, settings) in another
// schema is never touched. It fails with an error naming the problem for a nil pool, an invalid
// option, an option that does not apply to a host's pool (WithMaxConns), or a migration or
// check that fails.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		return nil, errors.New("pgstore: New: no pool (nil *pgxpool.Pool)")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if cfg.maxConns > 0 {
		return nil, errors.New("pgstore: New: WithMaxConns does not apply to a host's pool: size the pool where it is made (pgxpool.Config.MaxConns, or pool_max_conns in its URL)")
	}
	s := &Store{core: newCore(pool, cfg), pool: pool, db: pool, cfg: cfg}
	if err := s.prepareSchema(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// WithTx returns a Store bound to the host's transaction tx: every read, write and enqueue of it
// (as hubsync.Store, hubsync.Queue and hubsync.Transactor) runs in tx, so it commits or rolls back
// with the host's own writes there. This is the transactional outbox:
//
//	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
//		if _, err := tx.Exec(ctx, `UPDATE learners SET ...`); err != nil {
//			return err
//		}
//		return eng.LearnerChangedTx(ctx, store.WithTx(tx), school, learner)
//	})
//
// The host commits or rolls back tx; the bound Store must not be used after that. RunInTx on it
// runs in a savepoint of tx, and WithAsyncAcks does not apply to it. tx must be a transaction on
// the database holding the store's schema; WithTx panics on a nil tx.
func (s *Store) WithTx(tx pgx.Tx) *Store {
	if tx == nil {
		panic("pgstore: WithTx: nil transaction")
	}
	return s.bound(tx)
}

// Close closes the connection pool of a Store that Open made. It does nothing on a Store from New
// (the pool is the host's) or bound to a transaction.
func (s *Store) Close() {
	if s.owned {
		s.pool.Close()
	}
}

// Schema returns the PostgreSQL schema holding the store's tables.
func (s *Store) Schema() string { return s.cfg.schema }

// bound returns s bound to tx (WithTx, RunInTx).
func (s *Store) bound(tx pgx.Tx) *Store {
	return &Store{core: sqlstore.Bind(s.core, driver{cfg: s.cfg}.bind(tx)), db: tx, cfg: s.cfg}
}
