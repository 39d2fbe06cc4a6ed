package hubsynctest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
)

// MemOption configures [NewMemStore], as sqlitestore.Option and pgstore.Option configure
// theirs.
type MemOption func(*memConfig) error

type memConfig struct {
	clk         clock.Clock
	maxAttempts int
	sealer      hubsync.Sealer
}

// WithMemClock sets the time source (nil, the default, means real time). Every time the store
// stamps or compares comes from it.
func WithMemClock(c clock.Clock) MemOption {
	return func(cfg *memConfig) error { cfg.clk = c; return nil }
}

// WithMemMaxAttempts sets how many tries a job gets: the Retry that brings its attempt count to
// n dead-letters it. The default is hubsync.MaxAttemptsDefault; n must be at least 1.
func WithMemMaxAttempts(n int) MemOption {
	return func(cfg *memConfig) error {
		if n < 1 {
			return fmt.Errorf("hubsynctest: WithMemMaxAttempts: max attempts must be at least 1, got %d", n)
		}
		cfg.maxAttempts = n
		return nil
	}
}

// WithMemSealer makes the store keep every connection's tokens sealed with s, in the stored form
// the SQL stores write (see hubsync.SealToken), as sqlitestore.WithSealer and pgstore.WithSealer
// do. nil, the default, keeps them as given.
func WithMemSealer(s hubsync.Sealer) MemOption {
	return func(cfg *memConfig) error { cfg.sealer = s; return nil }
}

// MemStore is an in-memory hubsync.Store, hubsync.Queue and hubsync.Transactor, for tests and
// examples. It passes store/storetest.Run. All methods are safe for concurrent use; nothing
// survives the process.
//
// RunInTx holds the store's lock while fn runs: fn must use the Store and Queue it is given,
// not the MemStore itself, or it deadlocks.
type MemStore struct {
	mu *sync.Mutex // nil in the view RunInTx hands to fn: the lock is already held
	d  *memData
}

var (
	_ hubsync.Store            = (*MemStore)(nil)
	_ hubsync.Queue            = (*MemStore)(nil)
	_ hubsync.Transactor       = (*MemStore)(nil)
	_ hubsync.SyncStateSwapper = (*MemStore)(nil)
)

// memData is the state behind a MemStore; every access holds MemStore.mu.
type memData struct {
	clk         clock.Clock
	maxAttempts int
	sealer      hubsync.Sealer

	// undo, while a transaction runs, collects functions that restore what it changed.
	undo *[]func()

	settings    map[hubsync.SchoolID][]byte // JSON, so callers never share slices with the store
	conns       map[hubsync.SchoolID]hubsync.Connection
	lms         map[hubsync.SchoolID]hubsync.LMSConnection // secrets in their stored form
	gens        map[hubsync.SchoolID]int64                 // Connection.Generation, kept when a connection goes
	states      map[schoolKey]hubsync.SyncState
	once        map[schoolKey]string
	hooks       map[schoolKey]time.Time // school holds the source
	checkpoints map[schoolKey]hubsync.Checkpoint
	log         []hubsync.SyncLogEntry
	logID       int64
	health      map[healthKey]hubsync.HealthEntry

	q memQueue
}

type schoolKey struct {
	school hubsync.SchoolID
	key    string
}

// NewMemStore returns an empty in-memory store and queue. It panics, naming the option, when an
// option is given an invalid value: a test helper's options are constants, so that is a bug in
// the test, and a constructor that cannot fail otherwise keeps every test's setup one line.
func NewMemStore(opts ...MemOption) *MemStore {
	cfg := memConfig{maxAttempts: hubsync.MaxAttemptsDefault}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			panic(err)
		}
	}
	d := &memData{
		clk:         clock.Or(cfg.clk),
		maxAttempts: cfg.maxAttempts,
		sealer:      cfg.sealer,
		settings:    map[hubsync.SchoolID][]byte{},
		conns:       map[hubsync.SchoolID]hubsync.Connection{},
		lms:         map[hubsync.SchoolID]hubsync.LMSConnection{},
		gens:        map[hubsync.SchoolID]int64{},
		states:      map[schoolKey]hubsync.SyncState{},
		once:        map[schoolKey]string{},
		hooks:       map[schoolKey]time.Time{},
		checkpoints: map[schoolKey]hubsync.Checkpoint{},
		health:      map[healthKey]hubsync.HealthEntry{},
	}
	d.q.init()
	return &MemStore{mu: new(sync.Mutex), d: d}
}

// lock takes the store's lock (unless this is a transaction's view) and checks ctx. It returns
// the unlock function, or ctx's error with nothing held.
func (m *MemStore) lock(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("hubsynctest: %w", err)
	}
	if m.mu == nil {
		return func() {}, nil
	}
	m.mu.Lock()
	return m.mu.Unlock, nil
}

// PutSettings replaces a school's settings. It fails only when ctx has ended or s does not
// encode as JSON.
func (m *MemStore) PutSettings(ctx context.Context, school hubsync.SchoolID, s hubsync.Settings) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("hubsynctest: encode settings of %s: %w", school, err)
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	setMap(m.d, m.d.settings, school, b)
	return nil
}

// GetSettings returns a school's settings; hubsync.ErrNotFound when none were saved.
func (m *MemStore) GetSettings(ctx context.Context, school hubsync.SchoolID) (hubsync.Settings, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return hubsync.Settings{}, err
	}
	b, ok := m.d.settings[school]
	unlock()
	if !ok {
		return hubsync.Settings{}, fmt.Errorf("hubsynctest: settings of %s: %w", school, hubsync.ErrNotFound)
	}
	var s hubsync.Settings
	if err := json.Unmarshal(b, &s); err != nil {
		return hubsync.Settings{}, fmt.Errorf("hubsynctest: decode settings of %s: %w", school, err)
	}
	return s, nil
}

// ListSchools returns every school with settings, a connection or an LMS connection, sorted.
func (m *MemStore) ListSchools(ctx context.Context) ([]hubsync.SchoolID, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []hubsync.SchoolID
	for s := range m.d.settings {
		out = append(out, s)
	}
	for s := range m.d.conns {
		out = append(out, s)
	}
	for s := range m.d.lms {
		out = append(out, s)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// PutConnection stores a school's connection, replacing any, with the school's next Generation,
// its tokens sealed first when the store has a Sealer (a sealing failure stores nothing).
func (m *MemStore) PutConnection(ctx context.Context, c hubsync.Connection) error {
	tok, err := hubsync.SealToken(ctx, m.d.sealer, c.School, c.Token)
	if err != nil {
		return fmt.Errorf("hubsynctest: put connection of %s: %w", c.School, err)
	}
	c.Token = tok
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	c.Generation = m.d.nextGeneration(c.School)
	setMap(m.d, m.d.conns, c.School, c)
	return nil
}

// nextGeneration raises the school's connection generation and returns it.
func (d *memData) nextGeneration(school hubsync.SchoolID) int64 {
	g := d.gens[school] + 1
	setMap(d, d.gens, school, g)
	return g
}

// GetConnection returns a school's connection; hubsync.ErrNotFound when there is none, and an
// error wrapping hubsync.ErrUnseal when a sealed token does not open.
func (m *MemStore) GetConnection(ctx context.Context, school hubsync.SchoolID) (hubsync.Connection, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return hubsync.Connection{}, err
	}
	c, ok := m.d.conns[school]
	unlock()
	if !ok {
		return hubsync.Connection{}, fmt.Errorf("hubsynctest: connection of %s: %w", school, hubsync.ErrNotFound)
	}
	if c.Token, err = hubsync.OpenToken(ctx, m.d.sealer, school, c.Token); err != nil {
		return hubsync.Connection{}, fmt.Errorf("hubsynctest: get connection of %s: %w", school, err)
	}
	return c, nil
}

// DeleteConnection forgets a school's connection (keeping its generation counter, which it
// raises); a missing one is not an error.
func (m *MemStore) DeleteConnection(ctx context.Context, school hubsync.SchoolID) error {
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	m.d.nextGeneration(school)
	deleteMap(m.d, m.d.conns, school)
	return nil
}

// GetSyncState returns one learner's state (email folded with hubsync.FoldEmail);
// hubsync.ErrNotFound when there is none.
func (m *MemStore) GetSyncState(ctx context.Context, school hubsync.SchoolID, email string) (hubsync.SyncState, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return hubsync.SyncState{}, err
	}
	defer unlock()
	st, ok := m.d.states[schoolKey{school, hubsync.FoldEmail(email)}]
	if !ok {
		return hubsync.SyncState{}, fmt.Errorf("hubsynctest: sync state of %s in %s: %w", hubsync.MaskEmail(email), school, hubsync.ErrNotFound)
	}
	return copyState(st), nil
}

// PutSyncState stores st under its folded email (hubsync.FoldEmail), setting UpdatedAt to the
// clock's time.
func (m *MemStore) PutSyncState(ctx context.Context, st hubsync.SyncState) error {
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	st = copyState(st)
	st.Email = hubsync.FoldEmail(st.Email)
	st.UpdatedAt = m.d.clk.Now()
	setMap(m.d, m.d.states, schoolKey{st.School, st.Email}, st)
	return nil
}

// GetSyncStates returns the states of school under emails (each folded with hubsync.FoldEmail),
// keyed by folded email; an email without a state is absent. It is hubsync.SyncStateBatcher's.
func (m *MemStore) GetSyncStates(ctx context.Context, school hubsync.SchoolID, emails []string) (map[string]hubsync.SyncState, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := make(map[string]hubsync.SyncState, len(emails))
	for _, em := range emails {
		key := hubsync.FoldEmail(em)
		if st, ok := m.d.states[schoolKey{school, key}]; ok {
			out[key] = copyState(st)
		}
	}
	return out, nil
}

// PutSyncStates stores states as PutSyncState does, all or (when one has an empty school or
// email, hubsync.ErrInvalidValue) none; of two states of one school and folded email the later
// one is stored. It is hubsync.SyncStateBatcher's.
func (m *MemStore) PutSyncStates(ctx context.Context, states ...hubsync.SyncState) error {
	for _, st := range states {
		if st.School == "" || hubsync.FoldEmail(st.Email) == "" {
			return fmt.Errorf("hubsynctest: sync state of school %q with email %s: empty school or email: %w",
				st.School, hubsync.MaskEmail(st.Email), hubsync.ErrInvalidValue)
		}
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	now := m.d.clk.Now()
	for _, st := range states {
		st = copyState(st)
		st.Email = hubsync.FoldEmail(st.Email)
		st.UpdatedAt = now
		setMap(m.d, m.d.states, schoolKey{st.School, st.Email}, st)
	}
	return nil
}

// SwapSyncStates stores each swap's state as PutSyncState does if the stored state is still
// the one its writer read (none, or one with the swap's UpdatedAt), all under one hold of the
// lock, and returns the folded emails of the others, for which nothing was written. A stored
// state replaced gets an UpdatedAt after its own (a microsecond after, when the clock has not
// moved a microsecond past it). A swap with an empty email or another school, an empty school,
// or two swaps of one email fail the call with hubsync.ErrInvalidValue, writing nothing. It is
// hubsync.SyncStateSwapper's.
func (m *MemStore) SwapSyncStates(ctx context.Context, school hubsync.SchoolID, swaps []hubsync.SyncStateSwap) ([]string, error) {
	seen := make(map[string]bool, len(swaps))
	for _, sw := range swaps {
		key := hubsync.FoldEmail(sw.State.Email)
		if school == "" || key == "" || (sw.State.School != "" && sw.State.School != school) || seen[key] {
			return nil, fmt.Errorf("hubsynctest: swapping the sync state of %s in school %q: empty school or email, another school, or the email twice: %w",
				hubsync.MaskEmail(sw.State.Email), school, hubsync.ErrInvalidValue)
		}
		seen[key] = true
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	now := m.d.clk.Now()
	var conflicts []string
	for _, sw := range swaps {
		k := schoolKey{school, hubsync.FoldEmail(sw.State.Email)}
		cur, ok := m.d.states[k]
		if ok != sw.Existed || (ok && !cur.UpdatedAt.Equal(sw.UpdatedAt)) {
			conflicts = append(conflicts, k.key)
			continue
		}
		st := copyState(sw.State)
		st.School, st.Email, st.UpdatedAt = school, k.key, now
		if ok && st.UpdatedAt.Before(cur.UpdatedAt.Add(time.Microsecond)) {
			st.UpdatedAt = cur.UpdatedAt.Add(time.Microsecond)
		}
		setMap(m.d, m.d.states, k, st)
	}
	return conflicts, nil
}

func copyState(st hubsync.SyncState) hubsync.SyncState {
	st.SentToHubSpot = maps0(st.SentToHubSpot)
	st.SentToLMS = maps0(st.SentToLMS)
	return st
}

func maps0(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ClaimOnce gives the once-event key to occurrenceID unless another occurrence holds it, and
// returns the owner.
func (m *MemStore) ClaimOnce(ctx context.Context, school hubsync.SchoolID, key, occurrenceID string) (string, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return "", err
	}
	defer unlock()
	k := schoolKey{school, key}
	if owner, ok := m.d.once[k]; ok {
		return owner, nil
	}
	setMap(m.d, m.d.once, k, occurrenceID)
	return occurrenceID, nil
}

// MarkWebhookSeen records a webhook event id and reports whether it is new.
func (m *MemStore) MarkWebhookSeen(ctx context.Context, source, eventID string, at time.Time) (bool, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	k := schoolKey{hubsync.SchoolID(source), eventID}
	if _, ok := m.d.hooks[k]; ok {
		return false, nil
	}
	setMap(m.d, m.d.hooks, k, at)
	return true, nil
}

// ForgetWebhooksBefore deletes dedupe records seen before t and returns how many went.
func (m *MemStore) ForgetWebhooksBefore(ctx context.Context, t time.Time) (int, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	n := 0
	for k, at := range m.d.hooks {
		if at.Before(t) {
			deleteMap(m.d, m.d.hooks, k)
			n++
		}
	}
	return n, nil
}

// PutCheckpoint stores c, replacing the one with the same school and name, with UpdatedAt set to
// the clock's time.
func (m *MemStore) PutCheckpoint(ctx context.Context, c hubsync.Checkpoint) error {
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	c.Data = slices.Clone(c.Data)
	c.UpdatedAt = m.d.clk.Now()
	setMap(m.d, m.d.checkpoints, schoolKey{c.School, c.Name}, c)
	return nil
}

// GetCheckpoint returns one checkpoint; hubsync.ErrNotFound when there is none.
func (m *MemStore) GetCheckpoint(ctx context.Context, school hubsync.SchoolID, name string) (hubsync.Checkpoint, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return hubsync.Checkpoint{}, err
	}
	defer unlock()
	c, ok := m.d.checkpoints[schoolKey{school, name}]
	if !ok {
		return hubsync.Checkpoint{}, fmt.Errorf("hubsynctest: checkpoint %q of %s: %w", name, school, hubsync.ErrNotFound)
	}
	c.Data = slices.Clone(c.Data)
	return c, nil
}

// DeleteCheckpoint removes a checkpoint; a missing one is not an error.
func (m *MemStore) DeleteCheckpoint(ctx context.Context, school hubsync.SchoolID, name string) error {
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	deleteMap(m.d, m.d.checkpoints, schoolKey{school, name})
	return nil
}

// AppendSyncLog adds entries, assigning IDs and setting a zero At to the clock's time. It fails,
// adding nothing, on an entry hubsync.SyncLogEntry.Validate refuses.
func (m *MemStore) AppendSyncLog(ctx context.Context, entries ...hubsync.SyncLogEntry) error {
	for i, e := range entries {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("hubsynctest: sync log entry %d: %w", i, err)
		}
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if m.d.undo != nil {
		n := len(m.d.log)
		*m.d.undo = append(*m.d.undo, func() { m.d.log = m.d.log[:n] })
	}
	now := m.d.clk.Now()
	for _, e := range entries {
		m.d.logID++
		e.ID = m.d.logID
		if e.At.IsZero() {
			e.At = now
		}
		m.d.log = append(m.d.log, e)
	}
	return nil
}

// ListSyncLog returns a school's entries matching f (hubsync.LogFilter.Match), newest first (by
// At, then latest appended). A filter LogFilter.Validate refuses is an error wrapping
// hubsync.ErrInvalidValue.
func (m *MemStore) ListSyncLog(ctx context.Context, school hubsync.SchoolID, f hubsync.LogFilter) ([]hubsync.SyncLogEntry, error) {
	f, err := f.Normalized()
	if err != nil {
		return nil, fmt.Errorf("hubsynctest: list sync log of %s: %w", school, err)
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []hubsync.SyncLogEntry
	for _, e := range m.d.log {
		if e.School == school && f.Match(e) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b hubsync.SyncLogEntry) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	if len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// ForgetSyncLogBefore deletes the entries of every school with At before t and returns how many
// went.
func (m *MemStore) ForgetSyncLogBefore(ctx context.Context, t time.Time) (int, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	kept := slices.DeleteFunc(slices.Clone(m.d.log), func(e hubsync.SyncLogEntry) bool { return e.At.Before(t) })
	n := len(m.d.log) - len(kept)
	if n == 0 {
		return 0, nil
	}
	if m.d.undo != nil {
		old := m.d.log
		*m.d.undo = append(*m.d.undo, func() { m.d.log = old })
	}
	m.d.log = kept
	return n, nil
}
