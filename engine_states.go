package hubsync

import (
	"context"
	"errors"
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
