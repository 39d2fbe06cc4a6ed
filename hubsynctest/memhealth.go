package hubsynctest

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/hubsync/hubsync"
)

// healthKey is what a health record is kept under.
type healthKey struct {
	school    hubsync.SchoolID
	direction hubsync.Direction
	email     string
	learner   string
}

// PutSyncHealth deletes the record of each in-sync entry and replaces the others', in order.
func (m *MemStore) PutSyncHealth(ctx context.Context, entries ...hubsync.HealthEntry) error {
	for _, h := range entries {
		if err := h.Status.Validate(); err != nil {
			return fmt.Errorf("hubsynctest: put sync health: %w", err)
		}
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	for _, h := range entries {
		h.Email = hubsync.FoldEmail(h.Email)
		k := healthKey{h.School, h.Direction, h.Email, h.LearnerID}
		if h.Status == hubsync.HealthInSync {
			deleteMap(m.d, m.d.health, k)
			continue
		}
		setMap(m.d, m.d.health, k, h)
	}
	return nil
}

// ListSyncHealth returns a school's records matching f, by email, learner id and direction.
func (m *MemStore) ListSyncHealth(ctx context.Context, school hubsync.SchoolID, f hubsync.HealthFilter) ([]hubsync.HealthEntry, error) {
	f, err := f.Normalized()
	if err != nil {
		return nil, fmt.Errorf("hubsynctest: list sync health of %s: %w", school, err)
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []hubsync.HealthEntry
	for k, h := range m.d.health {
		if k.school == school && f.Match(h) {
			out = append(out, h)
		}
	}
	slices.SortFunc(out, func(a, b hubsync.HealthEntry) int {
		return cmp.Or(cmp.Compare(a.Email, b.Email), cmp.Compare(a.LearnerID, b.LearnerID), cmp.Compare(a.Direction, b.Direction))
	})
	if len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// ListSyncStates returns a school's sync states with an email after after, by email.
func (m *MemStore) ListSyncStates(ctx context.Context, school hubsync.SchoolID, after string, limit int) ([]hubsync.SyncState, error) {
	if limit <= 0 {
		limit = hubsync.LogLimitDefault
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []hubsync.SyncState
	for k, st := range m.d.states {
		if k.school == school && k.key > after {
			out = append(out, copyState(st))
		}
	}
	slices.SortFunc(out, func(a, b hubsync.SyncState) int { return cmp.Compare(a.Email, b.Email) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
