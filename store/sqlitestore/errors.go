package sqlitestore

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/hubsync/hubsync"
)

// interpretError is the store's one translation of a database error into its own: op says what
// was being done, no rows becomes an error wrapping hubsync.ErrNotFound, and anything else is
// wrapped as it is. Every error leaves the package prefixed "sqlitestore: "; op never holds a
// token or a full email (pass hubsync.MaskEmail's).
func interpretError(op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlitestore: %s: %w", op, hubsync.ErrNotFound)
	}
	return fmt.Errorf("sqlitestore: %s: %w", op, err)
}

// leaseLost is the error of op on j when j's lease is no longer the job's.
func leaseLost(op string, j hubsync.Job) error {
	return fmt.Errorf("sqlitestore: %s job %d: %w", op, j.ID, hubsync.ErrLeaseLost)
}
