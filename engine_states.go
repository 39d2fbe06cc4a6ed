package hubsync

import (
	"context"
	"errors"
	"maps"
)

// This file is how the engine reads and writes a batch's sync states: through the store's
// SyncStateBatcher when it has one (one round trip per batch), else one call per learner.

// getStates returns the states s holds for school under emails (folded), keyed by folded email;
// an email without a state is absent.
func getStates(ctx context.Context, s Store, school SchoolID, emails []string) (map[string]SyncState, error) {
	if b, ok := s.(SyncStateBatcher); ok {
		return b.GetSyncStates(ctx, school, emails)
	}
	out := make(map[string]SyncState, len(emails))
	for _, em := range emails {
		key := FoldEmail(em)
		if _, done := out[key]; done {
			continue
		}
		st, err := s.GetSyncState(ctx, school, key)
		switch {
		case err == nil:
			out[key] = st
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
	}
	return out, nil
}

// putStatesTo stores states in s: in one call when s is a SyncStateBatcher, else one by one (the
// caller runs it in a transaction when the store has one).
func putStatesTo(ctx context.Context, s Store, states []SyncState) error {
	if b, ok := s.(SyncStateBatcher); ok {
		return b.PutSyncStates(ctx, states...)
	}
	for _, st := range states {
		if err := s.PutSyncState(ctx, st); err != nil {
			return err
		}
	}
	return nil
}

// putStates stores sync states: in one call when the store is a SyncStateBatcher (atomic by its
// contract), else in one transaction when it offers one (a batch of 100 is then one commit
// instead of a hundred), else one by one.
func (e *Engine) putStates(ctx context.Context, states []SyncState) error {
	if len(states) == 0 {
		return nil
	}
	if _, ok := e.cfg.Store.(SyncStateBatcher); ok {
		return putStatesTo(ctx, e.cfg.Store, states)
	}
	if tx, ok := e.cfg.Store.(Transactor); ok {
		return tx.RunInTx(ctx, func(ctx context.Context, s Store, _ Queue) error { return putStatesTo(ctx, s, states) })
	}
	return putStatesTo(ctx, e.cfg.Store, states)
}

// stateCache holds the sync states of a batch's learners, read with one getStates, for code that
// handles the learners one at a time (inbound). It knows, for every email it read, whether a state
// exists; an email it did not read is read from the store.
type stateCache struct {
	school SchoolID
	read   map[string]bool // folded emails read, a state or not
	states map[string]SyncState
}

// prefetch reads the states of emails not read yet.
func (c *stateCache) prefetch(ctx context.Context, s Store, emails []string) error {
	if c.read == nil {
		c.read, c.states = map[string]bool{}, map[string]SyncState{}
	}
	var todo []string
	for _, em := range emails {
		if key := FoldEmail(em); key != "" && !c.read[key] {
			todo = append(todo, key)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	got, err := getStates(ctx, s, c.school, todo)
	if err != nil {
		return err
	}
	for _, key := range todo {
		c.read[key] = true
	}
	for key, st := range got {
		c.states[key] = st
	}
	return nil
}

// get returns the state under email, as GetSyncState does (ErrNotFound when none): from the
// cache when it read email, else from s.
func (c *stateCache) get(ctx context.Context, s Store, email string) (SyncState, error) {
	key := FoldEmail(email)
	if !c.read[key] {
		return s.GetSyncState(ctx, c.school, key)
	}
	st, ok := c.states[key]
	if !ok {
		return SyncState{}, ErrNotFound
	}
	return copySent(st), nil
}

// stored notes st as now stored, so a later get of its email sees it.
func (c *stateCache) stored(st SyncState) {
	if c.read == nil {
		c.read, c.states = map[string]bool{}, map[string]SyncState{}
	}
	key := FoldEmail(st.Email)
	c.read[key] = true
	c.states[key] = copySent(st)
}

// copySent returns st with sent maps of its own, so what a caller changes in them does not
// change the cached state.
func copySent(st SyncState) SyncState {
	st.SentToHubSpot = maps.Clone(st.SentToHubSpot)
	st.SentToLMS = maps.Clone(st.SentToLMS)
	return st
}
