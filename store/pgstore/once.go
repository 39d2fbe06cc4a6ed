package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
)

// ClaimOnce records that the once-per-learner event key belongs to occurrenceID unless another
// occurrence holds it, and returns the owner after the call. Racing callers see one winner: the
// insert is ON CONFLICT DO NOTHING on (school, key), and a loser reads the winner's row in a new
// statement (so under READ COMMITTED it sees the committed winner). It fails on an empty school,
// key or occurrence, or a database error.
func (s *Store) ClaimOnce(ctx context.Context, school hubsync.SchoolID, key, occurrenceID string) (string, error) {
	if school == "" {
		return "", errNoSchool
	}
	if key == "" || occurrenceID == "" {
		return "", fmt.Errorf("pgstore: ClaimOnce needs a key and an occurrence id (key empty: %t, occurrence empty: %t)", key == "", occurrenceID == "")
	}
	var owner string
	err := s.db.QueryRow(ctx, `INSERT INTO once_claims (school, key, occurrence, claimed_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (school, key) DO NOTHING RETURNING occurrence`, string(school), key, occurrenceID, s.now()).Scan(&owner)
	if err == nil {
		return owner, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("pgstore: claiming once-event in school %q: %w", school, err)
	}
	err = s.db.QueryRow(ctx, `SELECT occurrence FROM once_claims WHERE school = $1 AND key = $2`, string(school), key).Scan(&owner)
	if err != nil {
		return "", fmt.Errorf("pgstore: reading once-event owner in school %q: %w", school, err)
	}
	return owner, nil
}
