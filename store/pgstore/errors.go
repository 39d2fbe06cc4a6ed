package pgstore

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hubsync/hubsync"
)

// errNoSchool is returned by every method given an empty SchoolID.
var errNoSchool = errors.New("pgstore: empty school id")

// retryable reports a PostgreSQL error that a fresh transaction may not meet again: a
// serialization failure (40001) or a deadlock (40P01).
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// interpretError is the store's one translation of a database error into its own: op says what
// was being done, no rows becomes an error wrapping hubsync.ErrNotFound, and anything else is
// wrapped as it is. Every error leaves the package prefixed "pgstore: "; op never holds a token
// or a full email (pass hubsync.MaskEmail's).
func interpretError(op string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("pgstore: %s: %w", op, hubsync.ErrNotFound)
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

// leaseLost is the error of op on j when j's lease is no longer the job's.
func leaseLost(op string, j hubsync.Job) error {
	return fmt.Errorf("pgstore: %s job %d: %w", op, j.ID, hubsync.ErrLeaseLost)
}
