package sqlstore

import (
	"context"
	"time"

	"github.com/hubsync/hubsync"
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
//   - Byte slices round-trip: nil as nil (or empty), others byte for byte. Settings data (JSON)
//     and a sync state's sent maps (binary, see sentcodec.go) hold what the Store encoded.
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
	// SchoolsList returns, each once and sorted, the schools with settings, a connection or an
	// LMS connection (a deleted one does not count).
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

	// LMSConnectionPut, LMSConnectionGet and LMSConnectionDelete (lmsconn.go).
	LMSConnectionOps

	// SyncStateGet returns the state stored under (school, email); email is folded already.
	// hubsync.ErrNotFound when none.
	SyncStateGet(ctx context.Context, school, email string) (SyncStateRow, error)
	// SyncStatePut stores r under (r.School, r.Email), replacing any.
	SyncStatePut(ctx context.Context, r SyncStateRow) error
	// SyncStateGetMany returns the states stored under school and any of emails (at least one,
	// folded already, distinct), in any order; an email without a state has no row. A driver
	// runs one statement for a batch however large (or splits it below its database's limit on
	// bound parameters, in one read of the same snapshot where it has them).
	SyncStateGetMany(ctx context.Context, school string, emails []string) ([]SyncStateRow, error)
	// SyncStatePutMany stores rows (at least one; (School, Email) distinct), each as
	// SyncStatePut does, all or none.
	SyncStatePutMany(ctx context.Context, rows []SyncStateRow) error
	// SyncStateSwapMany stores, in one atomic change, each swap's Row (all of one school;
	// (School, Email) distinct) if the stored row is still the one its writer read: none when
	// Existed is false (an insert), else one whose updated_at equals ReadUpdatedAt exactly (an
	// update). It returns the emails of the rows not written, their condition having failed.
	// Each row's check and write is atomic against every other writer of the row, in any process,
	// and a driver runs one statement for the batch, or one transaction whose statements do not
	// each wait on a round trip where avoidable.
	SyncStateSwapMany(ctx context.Context, swaps []SyncStateSwapRow) (conflicts []string, err error)
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

	// The queue. A job is waiting (due at its RunAt), leased (LeaseToken set, until LeaseUntil)
	// or dead (dead-lettered); JobAck deletes it. Its live jobs are the waiting and leased ones.
	// The operations guarded by a lease (JobAck, JobAckMany, JobRetry, JobRelease, JobReleaseMany,
	// JobKill, JobExtend) act only on a job that is leased with the given token, an expired
	// lease nobody took over included, and report false (changing nothing) otherwise.

	// JobInsert enqueues jobs (at least one), all or none, in the order given; now is the
	// enqueue time (EnqueuedAt) and every RunAt is set. A job with an empty Key is inserted,
	// waiting. A job with a Key coalesces: when the newest live job of its (School, Key) is
	// waiting (not leased, not even with its lease expired; not dead), the new job merges into it
	// (Kind and Payload replaced, the lower Priority value and the earlier RunAt kept, its ID,
	// Attempts and LastError kept); otherwise it is inserted, waiting, behind the key's leased
	// job. Racing enqueues of one key, in any number of processes, never both insert where one
	// should merge, and a job being leased by a racing JobLease is never merged into.
	JobInsert(ctx context.Context, jobs []JobInsertRow, now time.Time) error
	// JobLease leases up to p.Max ready jobs of one school for p.Worker, with p.Token until
	// p.Until, and returns them (in any order: the Store sorts them). A job is ready at p.Now
	// when it is waiting with RunAt at or before p.Now, or leased with LeaseUntil at or before
	// p.Now (expired); of p.Kinds when not empty; and the head of its key: no other live job of
	// its (School, Key) is leased (even expired), and, for a waiting job, none was enqueued
	// before it (a job with an empty Key has no key). The school is fair: of the schools not in
	// p.Exclude, in p.Schools when it is not empty, without a job of a key in p.BusyKeys under
	// an unexpired lease, and with a ready job, the one that JobLease leased from least recently (never: first;
	// ties by school, byte order), which is then marked served. Inside the school, jobs go by
	// Priority (lower first), then RunAt, then enqueue order (ID). A job taken over from an
	// expired lease counts one more attempt, with a LastError saying the lease expired, and when
	// that count reaches p.MaxAttempts it is dead-lettered instead (and not returned). Racing
	// callers in any number of processes never lease one job twice. Nothing ready is an empty
	// result, not an error.
	JobLease(ctx context.Context, p JobLeaseParams) ([]JobRow, error)
	// JobAck deletes the job id leased with token.
	JobAck(ctx context.Context, id int64, token string) (bool, error)
	// JobRetry ends the lease of the job p.ID leased with p.Token, counting one attempt and
	// recording p.Cause as its LastError: it waits again at p.RunAt, keeping its place at the
	// head of its key, unless the count reaches p.MaxAttempts, when it is dead-lettered at p.Now
	// instead.
	JobRetry(ctx context.Context, p JobRetryParams) (bool, error)
	// JobRelease ends the lease of job id leased with token without counting an attempt: it
	// waits again at runAt.
	JobRelease(ctx context.Context, id int64, token string, runAt time.Time) (bool, error)
	// JobAckMany deletes, in one atomic change, every job of leases (at least one, distinct)
	// still leased with its token, and reports for each lease, in order, whether it was deleted.
	JobAckMany(ctx context.Context, leases []Lease) ([]bool, error)
	// JobReleaseMany is JobRelease of every job of leases (at least one, distinct), to wait again
	// at runAt, in one atomic change; it reports for each lease, in order, whether it was released.
	JobReleaseMany(ctx context.Context, leases []Lease, runAt time.Time) ([]bool, error)
	// JobKill dead-letters, at now, the job id leased with token, counting one attempt and
	// recording cause as its LastError.
	JobKill(ctx context.Context, id int64, token, cause string, now time.Time) (bool, error)
	// JobExtend sets the lease end of every job of leases still leased with its token to until,
	// in one atomic change, and reports for each lease, in order, whether it was extended.
	JobExtend(ctx context.Context, leases []Lease, until time.Time) ([]bool, error)
	// JobHolders returns, each once and sorted, the non-empty workers holding a lease that ends
	// after now.
	JobHolders(ctx context.Context, now time.Time) ([]string, error)
	// JobExpireLeases sets to now the lease end of every job worker holds whose lease ends after
	// now, and returns how many.
	JobExpireLeases(ctx context.Context, worker string, now time.Time) (int, error)
	// JobDeadLetters returns the school's dead jobs, oldest death first (ties by ID).
	JobDeadLetters(ctx context.Context, school string) ([]JobRow, error)
	// JobReplay makes dead job id wait again, due at now, with Attempts 0 and LastError empty;
	// it waits behind a leased job of its key (whether it also goes behind the key's jobs
	// enqueued while it was dead is the driver's choice: pgstore puts it last, sqlitestore
	// keeps its place). It reports false when no dead job has that id.
	JobReplay(ctx context.Context, id int64, now time.Time) (bool, error)
	// JobDiscard deletes dead job id; false when no dead job has that id.
	JobDiscard(ctx context.Context, id int64) (bool, error)
	// JobStats counts the school's jobs at now (see hubsync.QueueStats): Ready waiting and due or
	// leased and expired, Scheduled waiting and due later, Leased with a lease ending after now,
	// Dead.
	JobStats(ctx context.Context, school string, now time.Time) (hubsync.QueueStats, error)
	// JobStatsByKind is JobStats by Kind; a kind with no job is absent.
	JobStatsByKind(ctx context.Context, school string, now time.Time) (map[string]hubsync.QueueStats, error)
	// JobNextRunAt returns the earliest RunAt of a waiting job of any school (a driver may count
	// the lease end of an expired lease as well); ok false when none.
	JobNextRunAt(ctx context.Context, now time.Time) (t time.Time, ok bool, err error)
}

// JobInsertRow is one job to enqueue, checked (hubsync.ValidateJobs) and with its RunAt set.
type JobInsertRow struct {
	School   string
	Kind     string
	Key      string
	Payload  []byte
	Priority int
	RunAt    time.Time
}

// JobRow is a job as a driver returns it.
type JobRow struct {
	ID         int64
	School     string
	Kind       string
	Key        string
	Payload    []byte
	Priority   int
	RunAt      time.Time
	Attempts   int
	LastError  string
	LeaseToken string
	LeaseUntil time.Time
	EnqueuedAt time.Time
}

// JobLeaseParams is what JobLease leases.
type JobLeaseParams struct {
	Now     time.Time
	Max     int // at least 1
	Until   time.Time
	Token   string // the same for every job of the call
	Worker  string
	Kinds   []string // empty: every kind
	Exclude []string // schools to skip
	Schools []string // when not empty: only these schools
	// BusyKeys, when not empty: skip every school with a job of one of these keys leased and
	// its lease not run out at Now.
	BusyKeys    []string
	MaxAttempts int
}

// JobRetryParams is what JobRetry retries.
type JobRetryParams struct {
	ID          int64
	Token       string
	Cause       string
	RunAt       time.Time
	Now         time.Time
	MaxAttempts int
}

// Lease names one job's lease, for JobExtend, JobAckMany and JobReleaseMany.
type Lease struct {
	ID    int64
	Token string
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

// SyncStateRow is one learner's sync state as a driver stores it. The sent maps are the Store's
// encoding of them (sentcodec.go: binary, a version byte first; rows written by older versions
// hold JSON objects, which the Store still reads), nil for a nil map; a driver stores them as
// bytes (a BLOB or bytea column), and one whose column cannot be NULL stores nil as no bytes.
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

// SyncStateSwapRow is one conditional write of SyncStateSwapMany: Row, if the stored row is still
// the one its writer read (none, when Existed is false; else the one updated at ReadUpdatedAt).
type SyncStateSwapRow struct {
	Row           SyncStateRow
	Existed       bool
	ReadUpdatedAt time.Time
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
