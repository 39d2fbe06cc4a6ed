package pgstore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hubsync/hubsync"
)

// retryable reports a PostgreSQL error that a fresh transaction may not meet again: a
// serialization failure (40001) or a deadlock (40P01).
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// interpretError is the store's one translation of a database error into its own: op says what
// was being done, no rows becomes an error wrapping hubsync.ErrNotFound, the database refusing
// work for now (see refusing) an error wrapping hubsync.ErrUnavailable as well, and anything else
// is wrapped as it is. Every error leaves the package prefixed "pgstore: "; op never holds a token
// or a full email (pass hubsync.MaskEmail's).
func interpretError(op string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("pgstore: %s: %w", op, hubsync.ErrNotFound)
	}
	if refusing(err) && !errors.Is(err, hubsync.ErrUnavailable) {
		return fmt.Errorf("pgstore: %s: %w (%w)", op, err, hubsync.ErrUnavailable)
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

// refusing reports whether err is the database refusing work for now rather than a problem with
// the work: a connection that failed or was lost, the server short of resources (class 53: disk
// full, out of memory, too many connections), shutting down or starting (57P01 to 57P03), a
// connection exception (class 08). Such errors match hubsync.ErrUnavailable too, so the engine
// pauses and puts the work back without counting an attempt against it.
func refusing(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "53") || strings.HasPrefix(pe.Code, "08") ||
			pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}
