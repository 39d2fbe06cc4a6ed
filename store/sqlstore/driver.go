package sqlstore

import (
	"context"
	"time"
)

// Driver is one SQL database's side of the seam: what a [Store] needs beside the typed operations
// of its [Executor]. A driver package (pgstore, sqlitestore) implements it over its database
// client, and hands it to [New] with the engine-facing configuration.
type Driver interface {
	// Name is the driver package's name; every error the Store returns starts with it and a
	// colon ("pgstore: ...").
	Name() string
	// Executor returns the Executor running outside any transaction: on the driver's pool, each
	// operation atomic by itself.
	Executor() Executor
	// Refusing reports whether err, returned by one of the driver's operations, is the database
	// refusing work for now rather than a problem with the work (a lost connection, a full disk,
	// a lock held past its timeout). The Store makes such errors match hubsync.ErrUnavailable too,
	// so the engine pauses and puts the work back without counting an attempt.
	Refusing(err error) bool
}

// Executor is the typed operations of one database, run either on the pool (Driver.Executor) or
// inside one transaction (the Executor InTx hands to its function, or one the driver package
// binds to a host's transaction and passes to [Bind]).
//
// The contract every implementation keeps, beyond what each method's comment says:
//   - Each operation is atomic: on the pool, it commits all it writes or nothing (a driver whose
//     operation is several statements runs them in one transaction of its own); inside a
//     transaction, it is part of it.
//   - Arguments are checked by the Store before the call (empty ids, filters, batches); an
//     operation does not validate them again.
//   - A row asked for that does not exist is an error wrapping hubsync.ErrNotFound; every other
//     error is the database's, unwrapped by the driver (the Store adds what was being done and
//     asks Driver.Refusing).
//   - Times are given in UTC; the driver stores them to the microsecond at least, returns them
//     in UTC, and a zero time round-trips as the zero time. Every time an operation compares or
//     stores comes from its arguments: no SQL calls now().
//   - Byte slices round-trip: nil as nil (or empty), others byte for byte. JSON columns (Settings
//     data, a sync state's sent maps) hold what the Store encoded.
//   - Schools, ids and keys compare byte for byte (a "C" collation), and sorted lists sort so.
//
// The rules that live in the SQL (coalescing, per-key order, fairness, lease takeover) are stated
// on the methods that carry them; store/storetest.Run checks all of it through the Store.
type Executor interface {
	// InTx runs fn with an Executor bound to one transaction: all fn's operations commit when it
	// returns nil and roll back when it returns an error, which InTx returns as is. On an
	// Executor already bound to a transaction, fn runs inside it (a savepoint, where the database
	// has them; or the same transaction).
	InTx(ctx context.Context, fn func(ctx context.Context, tx Executor) error) error

	// SettingsPut stores data (a school's settings, JSON) for school, replacing any.
	SettingsPut(ctx context.Context, school string, data []byte, now time.Time) error
	// SettingsGet returns what SettingsPut stored; hubsync.ErrNotFound when nothing was.
	SettingsGet(ctx context.Context, school string) ([]byte, error)
	// SchoolsList returns, each once and sorted, the schools with settings or a connection (a
	// deleted connection does not count).
	SchoolsList(ctx context.Context) ([]string, error)

	// ConnectionPut raises the school's generation counter (created at 1 when missing, +1
	// otherwise; it survives ConnectionDelete) and stores c with that generation (c.Generation
	// is ignored), replacing any connection of the school, in one atomic change: racing callers
	// in any number of processes each get a generation of their own, and the stored row has the
	// largest. It returns the generation stored.
	ConnectionPut(ctx context.Context, c ConnectionRow) (generation int64, err error)
	// ConnectionGet returns the school's connection as stored; hubsync.ErrNotFound when none.
	ConnectionGet(ctx context.Context, school string) (ConnectionRow, error)
	// ConnectionDelete raises the school's generation counter as ConnectionPut does and deletes
	// its connection (a missing one is not an error), in one atomic change.
	ConnectionDelete(ctx context.Context, school string) error

	// SyncStateGet returns the state stored under (school, email); email is folded already.
	// hubsync.ErrNotFound when none.
	SyncStateGet(ctx context.Context, school, email string) (SyncStateRow, error)
	// SyncStatePut stores r under (r.School, r.Email), replacing any.
	SyncStatePut(ctx context.Context, r SyncStateRow) error
	// SyncStateList returns the school's states whose email sorts after after, sorted by email,
	// at most limit (> 0).
	SyncStateList(ctx context.Context, school, after string, limit int) ([]SyncStateRow, error)

	// OnceClaim stores occurrence as the owner of (school, key) unless the key has one, and
	// returns the owner after the call. Racing callers with different occurrences all get the
	// one winner.
	OnceClaim(ctx context.Context, school, key, occurrence string, now time.Time) (owner string, err error)

	// WebhookMark records (source, eventID) seen at at, and reports whether it was new: of
	// racing callers with one pair exactly one gets true.
	WebhookMark(ctx context.Context, source, eventID string, at time.Time) (first bool, err error)
	// WebhookForget deletes at most limit records (of every source) seen strictly before before,
	// and returns how many it deleted. Racing callers delete each record at most once. The Store
	// calls it until it deletes fewer than limit, each call its own transaction on the pool.
	WebhookForget(ctx context.Context, before time.Time, limit int) (int, error)

	// CheckpointPut stores c under (c.School, c.Name), replacing any; c.UpdatedAt is the time to
	// store.
	CheckpointPut(ctx context.Context, c CheckpointRow) error
	// CheckpointGet returns one checkpoint; hubsync.ErrNotFound when none.
	CheckpointGet(ctx context.Context, school, name string) (CheckpointRow, error)
	// CheckpointDelete deletes one checkpoint; a missing one is not an error.
	CheckpointDelete(ctx context.Context, school, name string) error

	// SyncLogAppend appends rows (at least one), all or none, assigning each an id (ID is
	// ignored) greater than every id before, in the order given.
	SyncLogAppend(ctx context.Context, rows []SyncLogRow) error
	// SyncLogList returns q.School's rows matching q (each non-zero field of q filters: Outcome
	// equal, EmailFolded equal to the row's folded email, At at or after Since), newest first:
	// by At descending, then by id descending; at most q.Limit (> 0).
	SyncLogList(ctx context.Context, q SyncLogQuery) ([]SyncLogRow, error)
	// SyncLogForget deletes at most limit rows (of every school) whose At is strictly before
	// before, and returns how many; as WebhookForget.
	SyncLogForget(ctx context.Context, before time.Time, limit int) (int, error)

	// HealthPut applies rows, whose keys (School, Email, LearnerID, Direction) are distinct: a
	// row whose Status is "in_sync" (hubsync.HealthInSync) deletes the record of its key (a
	// missing one is not an error), any other replaces it.
	HealthPut(ctx context.Context, rows []HealthRow) error
	// HealthList returns q.School's records whose (Email, LearnerID, Direction) sorts after
	// (q.AfterEmail, q.AfterLearner, q.AfterDirection), of q.Status and q.Direction when not
	// empty, sorted by email, learner id, direction; at most q.Limit (> 0).
	HealthList(ctx context.Context, q HealthQuery) ([]HealthRow, error)
}

// ConnectionRow is a school's connection as a driver stores it. The tokens are as stored:
// sealed (hubsync.SealToken) when the Store has a Sealer.
type ConnectionRow struct {
	School            string
	AccessToken       string
	RefreshToken      string
	Expiry            time.Time
	PortalID          int64
	Domain            string
	Active            bool
	DeactivatedAt     time.Time
	DeactivatedReason string
	NotifiedAt        time.Time
	ConnectedAt       time.Time
	Generation        int64
}

// SyncStateRow is one learner's sync state as a driver stores it. The sent maps are JSON
// objects, or nil for a nil map; a driver whose column cannot be NULL stores nil as the JSON
// null and may return either.
type SyncStateRow struct {
	School         string
	Email          string // folded (hubsync.FoldEmail)
	LearnerID      string
	ContactID      string
	SentToHubSpot  []byte
	SentToLMS      []byte
	LifecycleStage string
	UpdatedAt      time.Time
}

// CheckpointRow is one checkpoint as a driver stores it.
type CheckpointRow struct {
	School    string
	Name      string
	Cursor    string
	Data      []byte
	UpdatedAt time.Time
}

// SyncLogRow is one sync log entry as a driver stores it. EmailFolded is Email folded
// (hubsync.FoldEmail), for a driver that stores it beside Email to match SyncLogQuery's email
// filter; a driver that folds in SQL ignores it (and need not return it).
type SyncLogRow struct {
	ID          int64
	School      string
	At          time.Time
	Direction   string
	Email       string
	EmailFolded string
	Outcome     string
	Reason      string
}

// SyncLogQuery is what SyncLogList selects: a school's entries, filtered by its non-zero fields.
type SyncLogQuery struct {
	School      string
	Outcome     string
	EmailFolded string
	Since       time.Time
	Limit       int
}

// HealthRow is one learner's health record as a driver stores it; Email is folded.
type HealthRow struct {
	School    string
	Email     string
	LearnerID string
	Direction string
	Status    string
	Exclusion string
	Reason    string
	At        time.Time
}

// HealthQuery is what HealthList selects: a page of a school's records after a cursor.
type HealthQuery struct {
	School                                   string
	AfterEmail, AfterLearner, AfterDirection string
	Status, Direction                        string
	Limit                                    int
}
