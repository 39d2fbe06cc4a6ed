package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/hubsync/hubsync"
)

// This file is the Store's half of hubsync.LMSConnections (each school's stored LearnWorlds
// connection) and the Executor operations it runs on.

var _ hubsync.LMSConnections = (*Store)(nil)

// LMSConnectionOps are the Executor's operations on LMS connections (part of [Executor]).
type LMSConnectionOps interface {
	// LMSConnectionPut stores r under r.School, replacing any.
	LMSConnectionPut(ctx context.Context, r LMSConnectionRow) error
	// LMSConnectionGet returns the school's LMS connection as stored; hubsync.ErrNotFound when
	// none.
	LMSConnectionGet(ctx context.Context, school string) (LMSConnectionRow, error)
	// LMSConnectionDelete deletes the school's LMS connection; a missing one is not an error.
	LMSConnectionDelete(ctx context.Context, school string) error
}

// LMSConnectionRow is a school's LMS connection as a driver stores it. The secrets are as
// stored: sealed (hubsync.SealLMSConnection) when the Store has a Sealer.
type LMSConnectionRow struct {
	School        string
	BaseURL       string
	ClientID      string
	ClientSecret  string
	AccessToken   string
	WebhookSecret string
	WebhookScheme string
	UpdatedAt     time.Time
}

// PutLMSConnection stores the school's LMS connection, replacing any, with UpdatedAt the clock's
// now and, with a Sealer, its secrets sealed first (a sealing failure writes nothing). It fails
// on a connection c.Validate refuses (wrapping hubsync.ErrInvalidValue), a sealing failure or a
// database error; the error never contains a secret.
func (s *Store) PutLMSConnection(ctx context.Context, c hubsync.LMSConnection) error {
	if err := c.Validate(); err != nil {
		return s.errorf("saving the LMS connection: %w", err)
	}
	sealed, err := hubsync.SealLMSConnection(ctx, s.cfg.Sealer, c)
	if err != nil {
		return s.errorf("saving the LMS connection of school %q: %w", c.School, err)
	}
	err = s.ex.LMSConnectionPut(ctx, LMSConnectionRow{
		School: string(c.School), BaseURL: c.BaseURL, ClientID: c.ClientID,
		ClientSecret: sealed.ClientSecret, AccessToken: sealed.AccessToken, WebhookSecret: sealed.WebhookSecret,
		WebhookScheme: c.WebhookScheme, UpdatedAt: s.now(),
	})
	if err != nil {
		return s.wrap(fmt.Sprintf("saving the LMS connection of school %q", c.School), err)
	}
	return nil
}

// GetLMSConnection returns the school's LMS connection, secrets opened; an error wrapping
// hubsync.ErrNotFound when there is none, and one wrapping hubsync.ErrUnseal when a sealed
// secret does not open.
func (s *Store) GetLMSConnection(ctx context.Context, school hubsync.SchoolID) (hubsync.LMSConnection, error) {
	r, err := s.ex.LMSConnectionGet(ctx, string(school))
	if err != nil {
		return hubsync.LMSConnection{}, s.wrap(fmt.Sprintf("reading the LMS connection of school %q", school), err)
	}
	c, err := hubsync.OpenLMSConnection(ctx, s.cfg.Sealer, hubsync.LMSConnection{
		School: school, BaseURL: r.BaseURL, ClientID: r.ClientID, ClientSecret: r.ClientSecret,
		AccessToken: r.AccessToken, WebhookSecret: r.WebhookSecret, WebhookScheme: r.WebhookScheme,
		UpdatedAt: utc(r.UpdatedAt),
	})
	if err != nil {
		return hubsync.LMSConnection{}, s.errorf("reading the LMS connection of school %q: %w", school, err)
	}
	return c, nil
}

// DeleteLMSConnection forgets the school's LMS connection; deleting a missing one is not an
// error.
func (s *Store) DeleteLMSConnection(ctx context.Context, school hubsync.SchoolID) error {
	if err := s.ex.LMSConnectionDelete(ctx, string(school)); err != nil {
		return s.wrap(fmt.Sprintf("deleting the LMS connection of school %q", school), err)
	}
	return nil
}
