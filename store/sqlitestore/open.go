package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/internal/quietlog"
	"github.com/hubsync/hubsync/store/sqlstore"
)

// Defaults for the options of [Open].
const (
	// BusyTimeoutDefault is how long a write waits for the write lock (another process's write,
	// or this store's other writes) before it fails with ErrBusy.
	BusyTimeoutDefault = 5 * time.Second
	// LeaseDefault is the lease Dequeue gives when DequeueOptions.Lease is zero.
	LeaseDefault = sqlstore.LeaseDefault
	// readersDefault is the size of the read-only connection pool.
	readersDefault = 4
)

// Store is a SQLite-backed hubsync.Store, hubsync.Queue and hubsync.Transactor. Open one on a file
// of its own with [Open], or over a host's *sql.DB on the host's file with [New]; it is safe for
// concurrent use. The value RunInTx hands to its fn is a Store bound to that transaction, and
// [Store.WithTx] binds one to a transaction of the host's.
//
// Its methods of those interfaces (and StatsByKind) are package sqlstore's Store, which holds
// the engine-facing logic of every SQL store; this package is its SQLite driver (the SQL, the
// single writer, the error classification). See sqlstore.Store for their documentation.
type Store struct {
	*core       // the hubsync.Store methods, over exec()
	w           *writer
	r           *sql.DB    // Open's read-only pool; nil for New, whose reads use the host's pool
	rstmts      *stmtCache // reads outside a transaction, prepared on r or the host's pool
	tx          querier    // the transaction of the view RunInTx hands to fn, or of WithTx; nil outside one
	prefix      string
	texts       []string // the store's SQL for its prefix, by sqlID
	clk         clock.Clock
	maxAttempts int
	log         *slog.Logger
	sealer      hubsync.Sealer // nil: tokens are stored as given
}

var (
	_ hubsync.Store            = (*Store)(nil)
	_ hubsync.Queue            = (*Store)(nil)
	_ hubsync.Transactor       = (*Store)(nil)
	_ hubsync.SyncStateBatcher = (*Store)(nil)
)

// Option configures [Open] and [New]. An option given an invalid value makes them fail with an
// error naming the option.
type Option func(*config) error

type config struct {
	clk         clock.Clock
	maxAttempts int
	busyTimeout time.Duration
	sync        Synchronous
	syncSet     bool // WithSynchronous was given
	log         *slog.Logger
	sealer      hubsync.Sealer
	prefix      string
	autoMigrate bool
}

// WithTablePrefix sets the prefix of the names of the store's tables and indexes: with "hs_",
// hs_jobs, hs_settings and so on. It must be empty or match [a-z_][a-z0-9_]* (and not start with
// sqlite_, which SQLite reserves). New's default is PrefixDefault, "hubsync_", so the store's
// tables stay clear of a host's own settings or jobs table; Open's is "", the names of the files
// it made before prefixes existed. A prefix is part of the schema: open a file with the prefix
// it was migrated with (see Migrations).
func WithTablePrefix(p string) Option {
	return func(o *config) error {
		if err := validatePrefix(p); err != nil {
			return fmt.Errorf("sqlitestore: WithTablePrefix: %w", err)
		}
		o.prefix = p
		return nil
	}
}

// WithAutoMigrate sets whether New and Open apply the migrations the database lacks (true, the
// default) or only check that none is missing (false: for a host that runs Migrations with its
// own tool), failing with an error wrapping ErrSchemaVersion that names the missing ones. Either
// way a database recording a migration this version does not know (a newer hubsync migrated it)
// is refused with an error wrapping ErrSchemaVersion.
func WithAutoMigrate(on bool) Option { return func(o *config) error { o.autoMigrate = on; return nil } }

// Synchronous is SQLite's synchronous setting for the store's file, which trades durability for
// commit speed.
type Synchronous string

// The settings WithSynchronous accepts.
const (
	// SyncFull (the default) syncs the write-ahead log on every commit: a committed enqueue or
	// ack survives a power loss.
	SyncFull Synchronous = "FULL"
	// SyncNormal syncs only at checkpoints: commits survive a crash of the process but the last
	// ones may roll back on a power loss or OS crash. Commits are several times faster.
	SyncNormal Synchronous = "NORMAL"
)

// WithSynchronous sets SQLite's synchronous mode, SyncFull or SyncNormal; the default is SyncFull.
// It is for Open only: synchronous is a setting of each connection, and New's are the host's (New
// refuses this option; the host's DSN sets it, as _pragma=synchronous(FULL)).
func WithSynchronous(m Synchronous) Option {
	return func(o *config) error {
		if m != SyncFull && m != SyncNormal {
			return fmt.Errorf("sqlitestore: WithSynchronous: synchronous mode %q is not %q or %q", m, SyncFull, SyncNormal)
		}
		o.sync, o.syncSet = m, true
		return nil
	}
}

// WithClock sets the time source (nil, the default, means real time). Run-at times, leases and
// the stamps the store writes all come from it.
func WithClock(c clock.Clock) Option { return func(o *config) error { o.clk = c; return nil } }

// WithMaxAttempts sets how many tries a job gets: the Retry that brings its attempt count to n
// dead-letters it. The default is hubsync.MaxAttemptsDefault; n must be at least 1.
func WithMaxAttempts(n int) Option {
	return func(o *config) error {
		if n < 1 {
			return fmt.Errorf("sqlitestore: WithMaxAttempts: max attempts must be at least 1, got %d", n)
		}
		o.maxAttempts = n
		return nil
	}
}

// WithBusyTimeout sets how long a write waits for the write lock, held by another process or by
// this store's other writes, before it fails with an error wrapping ErrBusy. The default is
// BusyTimeoutDefault; d must not be negative. Zero fails at once when another process holds the
// lock, and waits for this store's other writes as long as the write's context allows.
func WithBusyTimeout(d time.Duration) Option {
	return func(o *config) error {
		if d < 0 {
			return fmt.Errorf("sqlitestore: WithBusyTimeout: busy timeout must not be negative, got %v", d)
		}
		o.busyTimeout = d
		return nil
	}
}

// WithSealer makes the store seal every connection's access and refresh tokens with s before
// writing them, and open them after reading (see hubsync.SealToken and hubsync.OpenToken; package
// seal's Keyring is the standard Sealer). Tokens written before, in plain text, still read and are
// sealed on the connection's next write (hubsync.ResealConnections writes them all at once). nil,
// the default, stores tokens as given, and a sealed token then fails to read with an error
// wrapping hubsync.ErrUnseal.
func WithSealer(s hubsync.Sealer) Option { return func(o *config) error { o.sealer = s; return nil } }

// WithLogger sets the logger for migrations (nil, the default, means slog.Default() at WARN and
// above only, so the INFO line of each migration applied is not shown).
func WithLogger(l *slog.Logger) Option { return func(o *config) error { o.log = l; return nil } }

// Open opens (creating if needed, with mode 0600: it holds the schools' tokens) the SQLite
// database file at path, switches it to WAL, applies any migration not yet applied (see
// WithAutoMigrate), and returns the store. It fails when path is empty or is not a plain file
// name (":memory:" and "file:" URIs are refused: the store needs one shared file for its writer
// and readers), when an option is given an invalid value, when the file cannot be opened or
// migrated, and with an error wrapping ErrSchemaVersion when its schema is not this version's
// (see WithAutoMigrate). Close the store when done.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	cfg := config{maxAttempts: hubsync.MaxAttemptsDefault, busyTimeout: BusyTimeoutDefault, sync: SyncFull, autoMigrate: true}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	switch {
	case path == "":
		return nil, errors.New("sqlitestore: open: empty database path")
	case path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsAny(path, "?#"):
		return nil, fmt.Errorf("sqlitestore: open: %q is not a plain file path", path)
	}
	if cfg.log == nil {
		cfg.log = quietlog.Default()
	}
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	common := fmt.Sprintf("%s?_busy_timeout=%d&_foreign_keys=1", path, cfg.busyTimeout.Milliseconds())
	wdb, err := sql.Open("sqlite", common+"&_journal_mode=WAL&_synchronous="+string(cfg.sync))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	conn, err := wdb.Conn(ctx)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", filepath.Base(path), err)
	}
	w := &writer{db: wdb, conn: conn, sem: make(chan struct{}, 1), stmts: map[string]*sql.Stmt{}, busy: cfg.busyTimeout}
	s := newStore(w, cfg)
	r, err := sql.Open("sqlite", common+"&_query_only=1")
	if err != nil {
		w.close()
		return nil, fmt.Errorf("sqlitestore: open readers: %w", err)
	}
	r.SetMaxOpenConns(readersDefault)
	r.SetMaxIdleConns(readersDefault)
	s.r, s.rstmts = r, &stmtCache{db: r, m: map[string]*sql.Stmt{}}
	s.initCore()
	if err := s.prepareSchema(ctx, cfg.autoMigrate); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// newStore returns a store of w and cfg, its reads still to be set.
func newStore(w *writer, cfg config) *Store {
	return &Store{w: w, prefix: cfg.prefix, texts: textsFor(cfg.prefix), clk: clock.Or(cfg.clk),
		maxAttempts: cfg.maxAttempts, log: cfg.log, sealer: cfg.sealer}
}

// createPrivate creates the database file, empty and readable by its owner only (0600), unless
// it exists: SQLite would create it 0644 (less the umask), and its -wal and -shm files take the
// database file's mode. An existing file keeps the mode its operator gave it.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil
	case err != nil:
		return fmt.Errorf("sqlitestore: open: creating %s: %w", filepath.Base(path), err)
	}
	return f.Close()
}

// Close closes the database of a store from Open. On a store from New it closes only the store's
// prepared statements and leaves the host's *sql.DB open: the host closes it. Calling it on the
// value RunInTx hands out, or on one from WithTx, is an error.
func (s *Store) Close() error {
	if s.tx != nil {
		return errors.New("sqlitestore: close called inside a transaction")
	}
	errs := []error{s.rstmts.close()}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	return errors.Join(append(errs, s.w.close())...)
}
