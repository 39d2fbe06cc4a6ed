package pgstore

import (
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
)

// Defaults for the options.
const (
	// SchemaDefault is the PostgreSQL schema that holds the tables.
	SchemaDefault = "hubsync"
	// LeaseDefault is the lease Dequeue grants when DequeueOptions.Lease is zero or negative.
	LeaseDefault = time.Minute
	// MaxBatchDefault caps DequeueOptions.Max.
	MaxBatchDefault = 1000
)

// Option configures Open.
type Option func(*config) error

type config struct {
	clock       hubsync.Clock
	maxAttempts int
	schema      string
	logger      *slog.Logger
	maxConns    int32
	asyncAcks   bool
}

func defaultConfig() config {
	return config{clock: clock.Real(), maxAttempts: hubsync.MaxAttemptsDefault, schema: SchemaDefault, logger: slog.New(slog.DiscardHandler)}
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
			return fmt.Errorf("pgstore: max attempts must be at least 1, got %d", n)
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
		if !schemaName.MatchString(name) {
			return fmt.Errorf("pgstore: schema %q is not a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63 bytes)", name)
		}
		cfg.schema = name
		return nil
	}
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

// WithMaxConns caps the connection pool's size (default: pgxpool's, or pool_max_conns in the URL).
// n must be at least 1.
func WithMaxConns(n int) Option {
	return func(cfg *config) error {
		if n < 1 || n > 1<<20 {
			return fmt.Errorf("pgstore: max conns must be between 1 and %d, got %d", 1<<20, n)
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
// Store write stay synchronous, so no job and no state change is lost. Off by default.
func WithAsyncAcks(on bool) Option {
	return func(cfg *config) error { cfg.asyncAcks = on; return nil }
}
