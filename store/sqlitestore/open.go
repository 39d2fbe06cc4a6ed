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
)

// Defaults for the options of [Open].
const (
	// BusyTimeoutDefault is how long a write waits for the write lock (another process's write,
	// or this store's other writes) before it fails with ErrBusy.
	BusyTimeoutDefault = 5 * time.Second
	// LeaseDefault is the lease Dequeue gives when DequeueOptions.Lease is zero.
	LeaseDefault = time.Minute
	// readersDefault is the size of the read-only connection pool.
	readersDefault = 4
)

// Store is a SQLite-backed hubsync.Store, hubsync.Queue and hubsync.Transactor. Open one with
// [Open]; it is safe for concurrent use. The value RunInTx hands to its fn is a Store bound to
// that transaction.
type Store struct {
	w           *writer
	r           *sql.DB
	rstmts      *stmtCache
	inTx        bool // true in the view RunInTx hands to fn
	clk         clock.Clock
	maxAttempts int
	log         *slog.Logger
	sealer      hubsync.Sealer // nil: tokens are stored as given
}

var (
	_ hubsync.Store      = (*Store)(nil)
	_ hubsync.Queue      = (*Store)(nil)
	_ hubsync.Transactor = (*Store)(nil)
)

// Option configures [Open]. An option given an invalid value makes Open fail with an error
// naming the option.
type Option func(*config) error

type config struct {
	clk         clock.Clock
	maxAttempts int
	busyTimeout time.Duration
	sync        Synchronous
	log         *slog.Logger
	sealer      hubsync.Sealer
}

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
func WithSynchronous(m Synchronous) Option {
	return func(o *config) error {
		if m != SyncFull && m != SyncNormal {
			return fmt.Errorf("sqlitestore: WithSynchronous: synchronous mode %q is not %q or %q", m, SyncFull, SyncNormal)
		}
		o.sync = m
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
// database file at path, switches it to WAL, applies
// any migration not yet applied, and returns the store. It fails when path is empty or is not a
// plain file name (":memory:" and "file:" URIs are refused: the store needs one shared file for
// its writer and readers), when an option is given an invalid value, or when the file cannot be
// opened or migrated. Close the store when done.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	cfg := config{maxAttempts: hubsync.MaxAttemptsDefault, busyTimeout: BusyTimeoutDefault, sync: SyncFull}
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
	s := &Store{w: w, clk: clock.Or(cfg.clk), maxAttempts: cfg.maxAttempts, log: cfg.log, sealer: cfg.sealer}
	if err := s.migrate(ctx); err != nil {
		w.close()
		return nil, err
	}
	r, err := sql.Open("sqlite", common+"&_query_only=1")
	if err != nil {
		w.close()
		return nil, fmt.Errorf("sqlitestore: open readers: %w", err)
	}
	r.SetMaxOpenConns(readersDefault)
	r.SetMaxIdleConns(readersDefault)
	s.r, s.rstmts = r, &stmtCache{db: r, m: map[string]*sql.Stmt{}}
	return s, nil
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

// Close closes the database. Calling it on the value RunInTx hands out is an error.
func (s *Store) Close() error {
	if s.inTx {
		return errors.New("sqlitestore: close called inside a transaction")
	}
	return errors.Join(s.rstmts.close(), s.r.Close(), s.w.close())
}
