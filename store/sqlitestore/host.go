package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"modernc.org/sqlite"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/internal/quietlog"
)

// This file is the store embedded in a host's own database: New over the host's *sql.DB, and
// WithTx over the host's transaction.

// New returns a store over db, a pool the host opened with modernc.org/sqlite (driver "sqlite")
// on its own database file, which the store's tables (named with the prefix, PrefixDefault
// unless WithTablePrefix says otherwise) then share with the host's. The store opens no
// connection of its own: reads go through db, and each write transaction takes one connection of
// db for its BEGIN IMMEDIATE ... COMMIT and gives it back, the store's writes one at a time, so a
// db limited to one connection (SetMaxOpenConns(1)) works too. The store does not own db: Close
// leaves it open, and the host closes db after the store.
//
// New applies the migrations the tables lack (or only checks, with WithAutoMigrate(false)). It
// checks what the store needs of db's connections, and fails with an error saying which DSN
// setting to add when they lack it:
//   - the file in WAL mode (a property of the file, kept once set): _pragma=journal_mode(WAL);
//   - a busy timeout on each connection, so a write waits for another connection's (the host's)
//     instead of failing at once: _pragma=busy_timeout(5000) (or pass WithBusyTimeout(0) to
//     have the store's writes fail at once too). The store's own WithBusyTimeout still bounds
//     its whole wait; the smaller of the two bounds the wait for another connection.
//
// Foreign keys do not matter to the store (its tables declare none). Synchronous is the host's
// setting too (SQLite's default, FULL, syncs every commit); New refuses WithSynchronous. The
// host's transactions around LearnerChangedTx and RecordTx (see WithTx) should take the write
// lock when they begin: add _txlock=immediate to the DSN.
//
//	db, err := sql.Open("sqlite", "lms.db?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_txlock=immediate")
//	store, err := sqlitestore.New(ctx, db)
//
// New fails when db is nil or not of modernc.org/sqlite, when an option is given an invalid
// value, when db's connections fail the checks above, and with an error wrapping
// ErrSchemaVersion when the schema is not this version's (see WithAutoMigrate).
func New(ctx context.Context, db *sql.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlitestore: new: nil *sql.DB")
	}
	if _, ok := db.Driver().(*sqlite.Driver); !ok {
		return nil, fmt.Errorf("sqlitestore: new: db's driver is %T, not modernc.org/sqlite's (sql.Open(\"sqlite\", ...))", db.Driver())
	}
	cfg := config{maxAttempts: hubsync.MaxAttemptsDefault, busyTimeout: BusyTimeoutDefault, prefix: PrefixDefault, autoMigrate: true}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.syncSet {
		return nil, errors.New("sqlitestore: new: WithSynchronous is for Open; synchronous is a setting of the host's connections: add _pragma=synchronous(FULL) or (NORMAL) to the DSN")
	}
	if cfg.log == nil {
		cfg.log = quietlog.Default()
	}
	if err := checkHostConn(ctx, db, cfg); err != nil {
		return nil, err
	}
	s := newStore(&writer{db: db, sem: make(chan struct{}, 1), busy: cfg.busyTimeout}, cfg)
	s.rstmts = &stmtCache{db: db, m: map[string]*sql.Stmt{}}
	s.initCore()
	if err := s.prepareSchema(ctx, cfg.autoMigrate); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// checkHostConn checks, on one connection of db (all are opened with one DSN), what New needs of
// them.
func checkHostConn(ctx context.Context, db *sql.DB, cfg config) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlitestore: new: taking a connection of the host's pool: %w", err)
	}
	defer conn.Close()
	var mode string
	var busyMS int64
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("sqlitestore: new: reading the journal mode: %w", err)
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busyMS); err != nil {
		return fmt.Errorf("sqlitestore: new: reading the busy timeout: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("sqlitestore: new: the database's journal mode is %q, not WAL (the store's reads run beside a write only in WAL mode): "+
			"add _pragma=journal_mode(WAL) to the DSN, or run PRAGMA journal_mode=WAL on the file once (an in-memory database cannot be WAL)", mode)
	}
	if busyMS == 0 && cfg.busyTimeout > 0 {
		return fmt.Errorf("sqlitestore: new: the host's connections have no busy timeout, so a write meeting another connection's would fail at once (SQLITE_BUSY): "+
			"add _pragma=busy_timeout(%d) to the DSN, or pass WithBusyTimeout(0) to accept that", max(cfg.busyTimeout.Milliseconds(), 1))
	}
	return nil
}

// WithTx returns a Store (a hubsync.Store, hubsync.Queue and hubsync.Transactor) bound to the
// host's transaction tx: everything done through it (reads, writes, Enqueue) runs in tx, so
//
//	eng.LearnerChangedTx(ctx, store.WithTx(tx), school, learner)
//
// queues the learner's change in the transaction of the host's own write, and it commits or rolls
// back with that write: the transactional outbox. RunInTx on the returned Store joins tx.
//
// The host commits or rolls back tx; the store never does. tx must be of a pool on the store's
// database file (New's db, typically). Begin it so it takes the write lock at once (modernc's
// _txlock=immediate in the DSN): a transaction that begins deferred, reads, and then writes fails
// with SQLITE_BUSY when another connection wrote in between (a worker's Dequeue, say), and its
// write lock is taken only at its first write. While tx is open, use only the Store WithTx
// returned inside it: the store's own writes wait for tx's write lock (up to the busy timeout), and
// with a pool of one connection every other call of the store waits for tx to end (for ever when
// the goroutine that holds tx makes it). Do not use
// the returned Store after tx ends: its calls then fail (sql.ErrTxDone). Close on it is an error.
// WithTx panics when tx is nil.
func (s *Store) WithTx(tx *sql.Tx) *Store {
	if tx == nil {
		panic("sqlitestore: WithTx: nil *sql.Tx")
	}
	return s.view(tx)
}
