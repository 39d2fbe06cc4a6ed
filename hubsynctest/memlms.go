package hubsynctest

import (
	"context"
	"fmt"

	"github.com/hubsync/hubsync"
)

// This file is MemStore's hubsync.LMSConnections: each school's stored LMS connection.

var _ hubsync.LMSConnections = (*MemStore)(nil)

// PutLMSConnection stores the school's LMS connection, replacing any, with UpdatedAt the clock's
// now and its secrets sealed first when the store has a Sealer (a sealing failure stores
// nothing). A connection c.Validate refuses fails with an error wrapping hubsync.ErrInvalidValue.
func (m *MemStore) PutLMSConnection(ctx context.Context, c hubsync.LMSConnection) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("hubsynctest: put LMS connection: %w", err)
	}
	sealed, err := hubsync.SealLMSConnection(ctx, m.d.sealer, c)
	if err != nil {
		return fmt.Errorf("hubsynctest: put LMS connection of %s: %w", c.School, err)
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	sealed.UpdatedAt = m.d.clk.Now().UTC()
	setMap(m.d, m.d.lms, c.School, sealed)
	return nil
}

// GetLMSConnection returns the school's LMS connection; hubsync.ErrNotFound when there is none,
// and an error wrapping hubsync.ErrUnseal when a sealed secret does not open.
func (m *MemStore) GetLMSConnection(ctx context.Context, school hubsync.SchoolID) (hubsync.LMSConnection, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return hubsync.LMSConnection{}, err
	}
	c, ok := m.d.lms[school]
	unlock()
	if !ok {
		return hubsync.LMSConnection{}, fmt.Errorf("hubsynctest: LMS connection of %s: %w", school, hubsync.ErrNotFound)
	}
	if c, err = hubsync.OpenLMSConnection(ctx, m.d.sealer, c); err != nil {
		return hubsync.LMSConnection{}, fmt.Errorf("hubsynctest: get LMS connection of %s: %w", school, err)
	}
	return c, nil
}

// DeleteLMSConnection forgets the school's LMS connection; a missing one is not an error.
func (m *MemStore) DeleteLMSConnection(ctx context.Context, school hubsync.SchoolID) error {
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	deleteMap(m.d, m.d.lms, school)
	return nil
}
