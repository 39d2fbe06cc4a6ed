package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
)

// nextGenerationSQL raises the connection generation of school $1 and returns it; the other
// statements of this file use it as a CTE named gen.
const nextGenerationSQL = `WITH gen AS (
	INSERT INTO connection_generations (school, generation) VALUES ($1, 1)
	ON CONFLICT (school) DO UPDATE SET generation = connection_generations.generation + 1
	RETURNING generation
)
`

// PutConnection stores a school's connection (tokens, portal, active flag), replacing any, with
// the school's next Generation (c.Generation is ignored): one statement raises the counter and
// writes the row, so racing writers get distinct generations and the last one's row has the
// largest. It fails on an empty school id or a database error; the error never contains a token.
func (s *Store) PutConnection(ctx context.Context, c hubsync.Connection) error {
	if c.School == "" {
		return errNoSchool
	}
	_, err := s.db.Exec(ctx, nextGenerationSQL+`INSERT INTO connections (school, access_token, refresh_token, expiry, portal_id, domain,
			active, deactivated_at, deactivated_reason, notified_at, connected_at, generation)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, (SELECT generation FROM gen))
		ON CONFLICT (school) DO UPDATE SET access_token = EXCLUDED.access_token, refresh_token = EXCLUDED.refresh_token,
			expiry = EXCLUDED.expiry, portal_id = EXCLUDED.portal_id, domain = EXCLUDED.domain, active = EXCLUDED.active,
			deactivated_at = EXCLUDED.deactivated_at, deactivated_reason = EXCLUDED.deactivated_reason,
			notified_at = EXCLUDED.notified_at, connected_at = EXCLUDED.connected_at, generation = EXCLUDED.generation`,
		string(c.School), c.Token.AccessToken, c.Token.RefreshToken, nullTime(c.Token.Expiry), c.PortalID, c.Domain,
		c.Active, nullTime(c.DeactivatedAt), c.DeactivatedReason, nullTime(c.NotifiedAt), nullTime(c.ConnectedAt))
	if err != nil {
		return fmt.Errorf("pgstore: saving the connection of school %q: %w", c.School, err)
	}
	return nil
}

// GetConnection returns a school's connection; an error wrapping hubsync.ErrNotFound when it was
// never connected or was disconnected.
func (s *Store) GetConnection(ctx context.Context, school hubsync.SchoolID) (hubsync.Connection, error) {
	c := hubsync.Connection{School: school}
	var expiry, deactivated, notified, connected *time.Time
	err := s.db.QueryRow(ctx, `SELECT access_token, refresh_token, expiry, portal_id, domain, active,
			deactivated_at, deactivated_reason, notified_at, connected_at, generation
		FROM connections WHERE school = $1`, string(school)).Scan(
		&c.Token.AccessToken, &c.Token.RefreshToken, &expiry, &c.PortalID, &c.Domain, &c.Active,
		&deactivated, &c.DeactivatedReason, &notified, &connected, &c.Generation)
	if errors.Is(err, pgx.ErrNoRows) {
		return hubsync.Connection{}, fmt.Errorf("pgstore: connection of school %q: %w", school, hubsync.ErrNotFound)
	}
	if err != nil {
		return hubsync.Connection{}, fmt.Errorf("pgstore: reading the connection of school %q: %w", school, err)
	}
	c.Token.Expiry, c.DeactivatedAt, c.NotifiedAt, c.ConnectedAt = fromNull(expiry), fromNull(deactivated), fromNull(notified), fromNull(connected)
	return c, nil
}

// DeleteConnection forgets a school's connection and tokens, raising its generation in the same
// statement (the counter stays). Deleting a missing one is not an error; only a database failure
// is.
func (s *Store) DeleteConnection(ctx context.Context, school hubsync.SchoolID) error {
	if _, err := s.db.Exec(ctx, nextGenerationSQL+`DELETE FROM connections WHERE school = $1`, string(school)); err != nil {
		return fmt.Errorf("pgstore: deleting the connection of school %q: %w", school, err)
	}
	return nil
}
