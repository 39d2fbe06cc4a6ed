package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
)

// Config is the engine-facing configuration of a [Store]: what the driver package's options set.
type Config struct {
	// Clock is the time source (nil: real time). Every time the Store stamps or compares comes
	// from it and is passed to the Executor.
	Clock hubsync.Clock
	// Sealer seals connection tokens before ConnectionPut and opens them after ConnectionGet
	// (hubsync.SealToken, hubsync.OpenToken), and LMS connection secrets likewise
	// (hubsync.SealLMSConnection, OpenLMSConnection). nil stores them as given.
	Sealer hubsync.Sealer
	// MaxAttempts is how many tries a job gets (0: hubsync.MaxAttemptsDefault): the Retry that
	// brings its count there dead-letters it, and so does a lease takeover.
	MaxAttempts int
}

// Store is hubsync.Store, hubsync.Queue, hubsync.Transactor and hubsync.KindStatser over a
// [Driver]: the engine-facing logic (argument checks, email folding, token sealing, the
// encoding of settings and sent maps, defaults, lease tokens, error wording and classification)
// written once, the SQL in the driver's [Executor]. A driver package embeds it in its own Store type. It is safe for
// concurrent use when the driver's Executor is.
type Store struct {
	d   Driver
	ex  Executor
	cfg Config
	clk hubsync.Clock
}

var (
	_ hubsync.Store            = (*Store)(nil)
	_ hubsync.SyncStateBatcher = (*Store)(nil)
	_ hubsync.SyncStateSwapper = (*Store)(nil)
)

// New returns a Store over d's pool Executor.
func New(d Driver, cfg Config) *Store {
	return &Store{d: d, ex: d.Executor(), cfg: cfg, clk: clock.Or(cfg.Clock)}
}

// Bind returns a copy of s running on ex: an Executor bound to a transaction, for a driver
// package's WithTx. It is a function, not a method, so that it is not promoted into the driver
// package's Store.
func Bind(s *Store, ex Executor) *Store {
	b := *s
	b.ex = ex
	return &b
}

func (s *Store) now() time.Time { return s.clk.Now().UTC() }

// errorf is an error of the store's own: prefixed with the driver's name.
func (s *Store) errorf(format string, args ...any) error {
	return fmt.Errorf(s.d.Name()+": "+format, args...)
}

// wrap is the store's one translation of an Executor's error: op says what was being done (it
// never holds a token or a full email: pass hubsync.MaskEmail's); an error the driver calls
// refusing matches hubsync.ErrUnavailable too.
func (s *Store) wrap(op string, err error) error {
	if s.d.Refusing(err) && !errors.Is(err, hubsync.ErrUnavailable) && !errors.Is(err, hubsync.ErrNotFound) {
		return fmt.Errorf("%s: %s: %w (%w)", s.d.Name(), op, err, hubsync.ErrUnavailable)
	}
	return fmt.Errorf("%s: %s: %w", s.d.Name(), op, err)
}

func (s *Store) noSchool() error {
	return s.errorf("empty school id: %w", hubsync.ErrInvalidValue)
}

// PutSettings replaces a school's settings (stored as JSON), creating the school on first use.
// It fails on an empty school id or a database error.
func (s *Store) PutSettings(ctx context.Context, school hubsync.SchoolID, st hubsync.Settings) error {
	if school == "" {
		return s.noSchool()
	}
	data, err := json.Marshal(st)
	if err != nil {
		return s.errorf("encoding settings of school %q: %w", school, err)
	}
	if err := s.ex.SettingsPut(ctx, string(school), data, s.now()); err != nil {
		return s.wrap(fmt.Sprintf("saving settings of school %q", school), err)
	}
	return nil
}

// GetSettings returns a school's settings; an error wrapping hubsync.ErrNotFound when none were
// saved.
func (s *Store) GetSettings(ctx context.Context, school hubsync.SchoolID) (hubsync.Settings, error) {
	data, err := s.ex.SettingsGet(ctx, string(school))
	if err != nil {
		return hubsync.Settings{}, s.wrap(fmt.Sprintf("reading settings of school %q", school), err)
	}
	var st hubsync.Settings
	if err := json.Unmarshal(data, &st); err != nil {
		return hubsync.Settings{}, s.errorf("decoding settings of school %q: %w", school, err)
	}
	return st, nil
}

// ListSchools returns every school that has settings, a connection or an LMS connection, sorted
// by byte order.
func (s *Store) ListSchools(ctx context.Context) ([]hubsync.SchoolID, error) {
	ids, err := s.ex.SchoolsList(ctx)
	if err != nil {
		return nil, s.wrap("listing schools", err)
	}
	var out []hubsync.SchoolID
	for _, id := range ids {
		out = append(out, hubsync.SchoolID(id))
	}
	return out, nil
}

// PutConnection stores a school's connection (tokens, portal, active flag), replacing any, with
// the school's next Generation (c.Generation is ignored), the counter and the row changed in one
// atomic step. With a Sealer the tokens are sealed first; a sealing failure writes nothing. It
// fails on an empty school id, a sealing failure or a database error; the error never contains a
// token.
func (s *Store) PutConnection(ctx context.Context, c hubsync.Connection) error {
	if c.School == "" {
		return s.noSchool()
	}
	tok, err := hubsync.SealToken(ctx, s.cfg.Sealer, c.School, c.Token)
	if err != nil {
		return s.errorf("saving the connection of school %q: %w", c.School, err)
	}
	_, err = s.ex.ConnectionPut(ctx, ConnectionRow{
		School: string(c.School), AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: utc(tok.Expiry),
		PortalID: c.PortalID, Domain: c.Domain, Active: c.Active, DeactivatedAt: utc(c.DeactivatedAt),
		DeactivatedReason: c.DeactivatedReason, NotifiedAt: utc(c.NotifiedAt), ConnectedAt: utc(c.ConnectedAt),
	})
	if err != nil {
		return s.wrap(fmt.Sprintf("saving the connection of school %q", c.School), err)
	}
	return nil
}

// GetConnection returns a school's connection; an error wrapping hubsync.ErrNotFound when it was
// never connected or was disconnected, and one wrapping hubsync.ErrUnseal when a sealed token
// does not open.
func (s *Store) GetConnection(ctx context.Context, school hubsync.SchoolID) (hubsync.Connection, error) {
	r, err := s.ex.ConnectionGet(ctx, string(school))
	if err != nil {
		return hubsync.Connection{}, s.wrap(fmt.Sprintf("reading the connection of school %q", school), err)
	}
	c := hubsync.Connection{School: school,
		Token:    hubsync.Token{AccessToken: r.AccessToken, RefreshToken: r.RefreshToken, Expiry: utc(r.Expiry)},
		PortalID: r.PortalID, Domain: r.Domain, Active: r.Active, DeactivatedAt: utc(r.DeactivatedAt),
		DeactivatedReason: r.DeactivatedReason, NotifiedAt: utc(r.NotifiedAt), ConnectedAt: utc(r.ConnectedAt),
		Generation: r.Generation}
	if c.Token, err = hubsync.OpenToken(ctx, s.cfg.Sealer, school, c.Token); err != nil {
		return hubsync.Connection{}, s.errorf("reading the connection of school %q: %w", school, err)
	}
	return c, nil
}

// DeleteConnection forgets a school's connection and tokens, raising its generation in the same
// atomic step (the counter stays). Deleting a missing one is not an error.
func (s *Store) DeleteConnection(ctx context.Context, school hubsync.SchoolID) error {
	if err := s.ex.ConnectionDelete(ctx, string(school)); err != nil {
		return s.wrap(fmt.Sprintf("deleting the connection of school %q", school), err)
	}
	return nil
}

// GetSyncState returns the state of one learner, the email folded with hubsync.FoldEmail; an
// error wrapping hubsync.ErrNotFound when there is none. Errors mask the email.
func (s *Store) GetSyncState(ctx context.Context, school hubsync.SchoolID, email string) (hubsync.SyncState, error) {
	r, err := s.ex.SyncStateGet(ctx, string(school), hubsync.FoldEmail(email))
	if err != nil {
		return hubsync.SyncState{}, s.wrap(fmt.Sprintf("reading sync state of %s in school %q", hubsync.MaskEmail(email), school), err)
	}
	return s.syncState(school, r)
}

// syncState decodes a stored row.
func (s *Store) syncState(school hubsync.SchoolID, r SyncStateRow) (hubsync.SyncState, error) {
	st := hubsync.SyncState{School: school, Email: r.Email, LearnerID: r.LearnerID, ContactID: r.ContactID,
		LifecycleStage: r.LifecycleStage, UpdatedAt: utc(r.UpdatedAt)}
	var err error
	if st.SentToHubSpot, err = decodeMap(r.SentToHubSpot); err != nil {
		return hubsync.SyncState{}, s.errorf("decoding sync state of %s in school %q: sent to HubSpot: %w", hubsync.MaskEmail(r.Email), school, err)
	}
	if st.SentToLMS, err = decodeMap(r.SentToLMS); err != nil {
		return hubsync.SyncState{}, s.errorf("decoding sync state of %s in school %q: sent to the LMS: %w", hubsync.MaskEmail(r.Email), school, err)
	}
	return st, nil
}

// PutSyncState stores st under its school and folded email (hubsync.FoldEmail), replacing what
// was there, with UpdatedAt set to the clock's time. It fails on an empty school or email, or a
// database error.
func (s *Store) PutSyncState(ctx context.Context, st hubsync.SyncState) error {
	r, err := s.syncStateRow(st, s.now())
	if err != nil {
		return err
	}
	if err := s.ex.SyncStatePut(ctx, r); err != nil {
		return s.wrap(fmt.Sprintf("saving sync state of %s in school %q", hubsync.MaskEmail(st.Email), st.School), err)
	}
	return nil
}

// syncStateRow checks and encodes st as the row to store, updated at now.
func (s *Store) syncStateRow(st hubsync.SyncState, now time.Time) (SyncStateRow, error) {
	if st.School == "" {
		return SyncStateRow{}, s.noSchool()
	}
	key := hubsync.FoldEmail(st.Email)
	if key == "" {
		return SyncStateRow{}, s.errorf("sync state of school %q has no email: %w", st.School, hubsync.ErrInvalidValue)
	}
	return SyncStateRow{School: string(st.School), Email: key, LearnerID: st.LearnerID, ContactID: st.ContactID,
		SentToHubSpot: encodeMap(st.SentToHubSpot), SentToLMS: encodeMap(st.SentToLMS), LifecycleStage: st.LifecycleStage, UpdatedAt: now}, nil
}

// GetSyncStates returns the states of school stored under emails (each folded with
// hubsync.FoldEmail), keyed by folded email; an email without a state is absent, duplicates are
// read once, and no emails (or only empty ones) make no query. It is hubsync.SyncStateBatcher's.
func (s *Store) GetSyncStates(ctx context.Context, school hubsync.SchoolID, emails []string) (map[string]hubsync.SyncState, error) {
	out := make(map[string]hubsync.SyncState, len(emails))
	keys := make([]string, 0, len(emails))
	seen := make(map[string]bool, len(emails))
	for _, em := range emails {
		if key := hubsync.FoldEmail(em); key != "" && !seen[key] {
			seen[key] = true
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := s.ex.SyncStateGetMany(ctx, string(school), keys)
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("reading the sync states of %d learners in school %q", len(keys), school), err)
	}
	for _, r := range rows {
		st, err := s.syncState(school, r)
		if err != nil {
			return nil, err
		}
		out[st.Email] = st
	}
	return out, nil
}

// PutSyncStates stores states as PutSyncState does, in one atomic change; a state of the same
// school and folded email as a later one is left out. It fails, writing nothing, on a state with
// an empty school or email, or a database error. It is hubsync.SyncStateBatcher's.
func (s *Store) PutSyncStates(ctx context.Context, states ...hubsync.SyncState) error {
	if len(states) == 0 {
		return nil
	}
	now := s.now()
	rows := make([]SyncStateRow, 0, len(states))
	at := make(map[[2]string]int, len(states)) // (school, email) -> index in rows
	for _, st := range states {
		r, err := s.syncStateRow(st, now)
		if err != nil {
			return err
		}
		k := [2]string{r.School, r.Email}
		if i, dup := at[k]; dup {
			rows[i] = r // the later state wins
			continue
		}
		at[k] = len(rows)
		rows = append(rows, r)
	}
	if err := s.ex.SyncStatePutMany(ctx, rows); err != nil {
		return s.wrap(fmt.Sprintf("saving the sync states of %d learners", len(rows)), err)
	}
	return nil
}

// SwapSyncStates stores each swap's state as PutSyncState does if the stored state is still the
// one its writer read (none, or one updated at the swap's UpdatedAt), in one atomic change, and
// returns the folded emails of the others, for which nothing was written. A state replaced
// gets an UpdatedAt at least a microsecond after its own, whatever the clock says (a driver
// keeps times to the microsecond at least). It fails, writing nothing, on an empty school, a
// state with an empty email or another school, two swaps of one folded email, or a database
// error. It is hubsync.SyncStateSwapper's.
func (s *Store) SwapSyncStates(ctx context.Context, school hubsync.SchoolID, swaps []hubsync.SyncStateSwap) ([]string, error) {
	if school == "" {
		return nil, s.noSchool()
	}
	if len(swaps) == 0 {
		return nil, nil
	}
	now := s.now()
	rows := make([]SyncStateSwapRow, len(swaps))
	seen := make(map[string]bool, len(swaps))
	for i, sw := range swaps {
		st := sw.State
		if st.School == "" {
			st.School = school
		}
		if st.School != school {
			return nil, s.errorf("swapping the sync state of %s: school %q in a swap of school %q: %w",
				hubsync.MaskEmail(st.Email), st.School, school, hubsync.ErrInvalidValue)
		}
		at := now
		if sw.Existed && at.Before(sw.UpdatedAt.Add(time.Microsecond)) {
			at = sw.UpdatedAt.Add(time.Microsecond).UTC() // after the state it replaces, at any precision down to 1 µs
		}
		r, err := s.syncStateRow(st, at)
		if err != nil {
			return nil, err
		}
		if seen[r.Email] {
			return nil, s.errorf("swapping the sync states of school %q: %s twice: %w", school, hubsync.MaskEmail(r.Email), hubsync.ErrInvalidValue)
		}
		seen[r.Email] = true
		rows[i] = SyncStateSwapRow{Row: r, Existed: sw.Existed, ReadUpdatedAt: utc(sw.UpdatedAt)}
	}
	conflicts, err := s.ex.SyncStateSwapMany(ctx, rows)
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("swapping the sync states of %d learners in school %q", len(rows), school), err)
	}
	return conflicts, nil
}

// ListSyncStates returns a school's sync states after the email after, by email (limit <= 0
// means hubsync.LogLimitDefault).
func (s *Store) ListSyncStates(ctx context.Context, school hubsync.SchoolID, after string, limit int) ([]hubsync.SyncState, error) {
	if limit <= 0 {
		limit = hubsync.LogLimitDefault
	}
	rows, err := s.ex.SyncStateList(ctx, string(school), after, limit)
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("listing the sync states of school %q", school), err)
	}
	var out []hubsync.SyncState
	for _, r := range rows {
		st, err := s.syncState(school, r)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// ClaimOnce records that the once-per-learner event key belongs to occurrenceID unless another
// occurrence holds it, and returns the owner after the call; racing callers see one winner. It
// fails on an empty school, key or occurrence, or a database error.
func (s *Store) ClaimOnce(ctx context.Context, school hubsync.SchoolID, key, occurrenceID string) (string, error) {
	if school == "" {
		return "", s.noSchool()
	}
	if key == "" || occurrenceID == "" {
		return "", s.errorf("ClaimOnce needs a key and an occurrence id (key empty: %t, occurrence empty: %t): %w",
			key == "", occurrenceID == "", hubsync.ErrInvalidValue)
	}
	owner, err := s.ex.OnceClaim(ctx, string(school), key, occurrenceID, s.now())
	if err != nil {
		return "", s.wrap(fmt.Sprintf("claiming once-event in school %q", school), err)
	}
	return owner, nil
}

// MarkWebhookSeen records a webhook event id from source and reports whether this is the first
// time it was seen (a zero at means the clock's now); of racing callers with one id exactly one
// gets true. It fails on an empty source or id, or a database error.
func (s *Store) MarkWebhookSeen(ctx context.Context, source, eventID string, at time.Time) (bool, error) {
	if source == "" || eventID == "" {
		return false, s.errorf("MarkWebhookSeen needs a source and an event id (source %q, id empty: %t): %w",
			source, eventID == "", hubsync.ErrInvalidValue)
	}
	if at.IsZero() {
		at = s.now()
	}
	first, err := s.ex.WebhookMark(ctx, source, eventID, at.UTC())
	if err != nil {
		return false, s.wrap(fmt.Sprintf("recording %s webhook event", source), err)
	}
	return first, nil
}

// ForgetChunk is how many rows one call of WebhookForget or SyncLogForget deletes at most.
const ForgetChunk = 5000

// ForgetWebhooksBefore deletes dedupe records seen before t and returns how many went, in
// operations of ForgetChunk rows (see forget).
func (s *Store) ForgetWebhooksBefore(ctx context.Context, t time.Time) (int, error) {
	n, err := s.forget(ctx, s.ex.WebhookForget, t.UTC())
	if err != nil {
		return n, s.wrap("forgetting webhook events", err)
	}
	return n, nil
}

// forget runs op, a delete of at most ForgetChunk rows, until one deletes fewer, each on its own
// (or all in the Store's transaction), so pruning a large backlog makes no long transaction and
// never holds a single writer for long. It returns how many rows went, those of the operations
// before an error included.
func (s *Store) forget(ctx context.Context, op func(context.Context, time.Time, int) (int, error), before time.Time) (int, error) {
	total := 0
	for {
		n, err := op(ctx, before, ForgetChunk)
		if err != nil {
			return total, err
		}
		total += n
		if n < ForgetChunk {
			return total, nil
		}
	}
}

// PutCheckpoint stores a checkpoint, replacing the one with the same school and name, with
// UpdatedAt set to the clock's time. It fails on an empty school or name, or a database error.
func (s *Store) PutCheckpoint(ctx context.Context, c hubsync.Checkpoint) error {
	if c.School == "" {
		return s.noSchool()
	}
	if c.Name == "" {
		return s.errorf("checkpoint of school %q has no name: %w", c.School, hubsync.ErrInvalidValue)
	}
	err := s.ex.CheckpointPut(ctx, CheckpointRow{School: string(c.School), Name: c.Name, Cursor: c.Cursor, Data: c.Data, UpdatedAt: s.now()})
	if err != nil {
		return s.wrap(fmt.Sprintf("saving checkpoint %q of school %q", c.Name, c.School), err)
	}
	return nil
}

// GetCheckpoint returns one checkpoint; an error wrapping hubsync.ErrNotFound when there is none.
func (s *Store) GetCheckpoint(ctx context.Context, school hubsync.SchoolID, name string) (hubsync.Checkpoint, error) {
	r, err := s.ex.CheckpointGet(ctx, string(school), name)
	if err != nil {
		return hubsync.Checkpoint{}, s.wrap(fmt.Sprintf("reading checkpoint %q of school %q", name, school), err)
	}
	return hubsync.Checkpoint{School: school, Name: name, Cursor: r.Cursor, Data: r.Data, UpdatedAt: utc(r.UpdatedAt)}, nil
}

// DeleteCheckpoint removes a checkpoint; a missing one is not an error.
func (s *Store) DeleteCheckpoint(ctx context.Context, school hubsync.SchoolID, name string) error {
	if err := s.ex.CheckpointDelete(ctx, string(school), name); err != nil {
		return s.wrap(fmt.Sprintf("deleting checkpoint %q of school %q", name, school), err)
	}
	return nil
}

// AppendSyncLog adds entries to the per-record sync log in one atomic operation; a zero At
// becomes the clock's time. It fails, adding nothing, when an entry is one
// hubsync.SyncLogEntry.Validate refuses (an error wrapping hubsync.ErrInvalidValue, naming the
// entry's index and field), or on a database error.
func (s *Store) AppendSyncLog(ctx context.Context, entries ...hubsync.SyncLogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	now := s.now()
	rows := make([]SyncLogRow, len(entries))
	for i, e := range entries {
		if e.School == "" {
			return s.errorf("sync log entry %d has no school: %w", i, hubsync.ErrInvalidValue)
		}
		if err := e.Validate(); err != nil {
			return s.errorf("sync log entry %d: %w", i, err)
		}
		at := e.At
		if at.IsZero() {
			at = now
		}
		rows[i] = SyncLogRow{School: string(e.School), At: at.UTC(), Direction: string(e.Direction), Email: e.Email,
			EmailFolded: hubsync.FoldEmail(e.Email), Outcome: string(e.Outcome), Reason: e.Reason}
	}
	if err := s.ex.SyncLogAppend(ctx, rows); err != nil {
		return s.wrap(fmt.Sprintf("appending %d sync log entries", len(rows)), err)
	}
	return nil
}

// ListSyncLog returns a school's log entries matching f (hubsync.LogFilter.Match), newest first
// (entries with equal At: last appended first), at most f.Limit of them (hubsync.LogLimitDefault
// when 0). It fails with an error wrapping hubsync.ErrInvalidValue on a filter LogFilter.Validate
// refuses, or on a database error.
func (s *Store) ListSyncLog(ctx context.Context, school hubsync.SchoolID, f hubsync.LogFilter) ([]hubsync.SyncLogEntry, error) {
	f, err := f.Normalized()
	if err != nil {
		return nil, s.errorf("listing the sync log of school %q: %w", school, err)
	}
	rows, err := s.ex.SyncLogList(ctx, SyncLogQuery{School: string(school), Outcome: string(f.Outcome), EmailFolded: f.Email,
		Since: utc(f.Since), Limit: f.Limit})
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("listing the sync log of school %q", school), err)
	}
	var out []hubsync.SyncLogEntry
	for _, r := range rows {
		out = append(out, hubsync.SyncLogEntry{ID: r.ID, School: school, At: utc(r.At), Direction: hubsync.Direction(r.Direction),
			Email: r.Email, Outcome: hubsync.LogOutcome(r.Outcome), Reason: r.Reason})
	}
	return out, nil
}

// ForgetSyncLogBefore deletes the entries of every school with At before t and returns how many
// went, in operations of ForgetChunk rows (see forget).
func (s *Store) ForgetSyncLogBefore(ctx context.Context, t time.Time) (int, error) {
	n, err := s.forget(ctx, s.ex.SyncLogForget, t.UTC())
	if err != nil {
		return n, s.wrap("forgetting sync log entries", err)
	}
	return n, nil
}

// PutSyncHealth deletes the record of each in-sync entry and replaces the others', in one atomic
// operation. Of entries sharing a key the last one given wins, as if they were applied in order.
// An entry with an invalid Status fails the call with an error wrapping hubsync.ErrInvalidValue,
// and nothing is written.
func (s *Store) PutSyncHealth(ctx context.Context, entries ...hubsync.HealthEntry) error {
	if len(entries) == 0 {
		return nil
	}
	for _, h := range entries {
		if err := h.Status.Validate(); err != nil {
			return s.errorf("saving sync health: %w", err)
		}
	}
	// From the last entry back, the first of each key is the one that wins (the driver is given
	// distinct keys): one fold and one map look-up an entry.
	type key struct{ school, email, learner, dir string }
	seen := make(map[key]bool, len(entries))
	rows := make([]HealthRow, 0, len(entries))
	for i := len(entries) - 1; i >= 0; i-- {
		h := entries[i]
		k := key{string(h.School), hubsync.FoldEmail(h.Email), h.LearnerID, string(h.Direction)}
		if seen[k] {
			continue
		}
		seen[k] = true
		rows = append(rows, HealthRow{School: k.school, Email: k.email, LearnerID: k.learner, Direction: k.dir,
			Status: string(h.Status), Exclusion: string(h.Exclusion), Reason: h.Reason, At: h.At.UTC()})
	}
	slices.Reverse(rows) // in the order given, as before
	if err := s.ex.HealthPut(ctx, rows); err != nil {
		return s.wrap(fmt.Sprintf("saving %d sync health records", len(rows)), err)
	}
	return nil
}

// ListSyncHealth returns a school's records matching f, by email, learner id and direction. A
// filter HealthFilter.Normalized refuses fails with an error wrapping hubsync.ErrInvalidValue.
func (s *Store) ListSyncHealth(ctx context.Context, school hubsync.SchoolID, f hubsync.HealthFilter) ([]hubsync.HealthEntry, error) {
	f, err := f.Normalized()
	if err != nil {
		return nil, s.errorf("listing the sync health of school %q: %w", school, err)
	}
	rows, err := s.ex.HealthList(ctx, HealthQuery{School: string(school), AfterEmail: f.AfterEmail, AfterLearner: f.AfterLearner,
		AfterDirection: string(f.AfterDirection), Status: string(f.Status), Direction: string(f.Direction), Limit: f.Limit})
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("listing the sync health of school %q", school), err)
	}
	var out []hubsync.HealthEntry
	for _, r := range rows {
		out = append(out, hubsync.HealthEntry{School: school, Direction: hubsync.Direction(r.Direction), Email: r.Email,
			LearnerID: r.LearnerID, Status: hubsync.HealthStatus(r.Status), Exclusion: hubsync.Exclusion(r.Exclusion),
			Reason: r.Reason, At: utc(r.At)})
	}
	return out, nil
}

// utc is t in UTC, the zero time kept as it is.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
