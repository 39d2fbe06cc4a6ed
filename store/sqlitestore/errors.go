package sqlitestore

import (
	"database/sql"
	"errors"
	"fmt"

	"modernc.org/sqlite"

	"github.com/hubsync/hubsync"
)

// interpretError is the store's one translation of a database error into its own: op says what
// was being done, no rows becomes an error wrapping hubsync.ErrNotFound, the database refusing
// work for now (see refusing) an error wrapping hubsync.ErrUnavailable as well, and anything else
// is wrapped as it is. Every error leaves the package prefixed "sqlitestore: "; op never holds a
// token or a full email (pass hubsync.MaskEmail's).
func interpretError(op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlitestore: %s: %w", op, hubsync.ErrNotFound)
	}
	if refusing(err) && !errors.Is(err, hubsync.ErrUnavailable) {
		return fmt.Errorf("sqlitestore: %s: %w (%w)", op, err, hubsync.ErrUnavailable)
	}
	return fmt.Errorf("sqlitestore: %s: %w", op, err)
}

// refusing reports whether err is the database refusing work for now rather than a problem with
// the work: locked past the busy timeout (ErrBusy, SQLITE_BUSY, SQLITE_LOCKED), the disk full
// (SQLITE_FULL) or an I/O error (SQLITE_IOERR). Such errors match hubsync.ErrUnavailable too, so
// the engine pauses and puts the work back without counting an attempt against it: a store that
// stays full for a day dead-letters nothing.
func refusing(err error) bool {
	if errors.Is(err, ErrBusy) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case 5, 6, 10, 13: // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL
			return true
		}
	}
	return false
}
