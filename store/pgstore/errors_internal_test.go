package pgstore

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hubsync/hubsync"
)

// TestInterpretErrorMarksRefusals: the server refusing work for now (disk full, out of
// connections, shutting down, a lost connection) matches hubsync.ErrUnavailable, so the engine
// waits instead of counting attempts; a problem with the statement or the data does not.
func TestInterpretErrorMarksRefusals(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "53100", Message: "could not extend file: No space left on device"}, true},
		{&pgconn.PgError{Code: "53300", Message: "too many connections"}, true},
		{&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, true},
		{&pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}, true},
		{&pgconn.PgError{Code: "08006", Message: "connection failure"}, true},
		{fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "53100"}), true},
		{&pgconn.PgError{Code: "23505", Message: "duplicate key"}, false},
		{&pgconn.PgError{Code: "42P01", Message: "relation does not exist"}, false},
		{errors.New("some other error"), false},
	} {
		got := interpretError("test", c.err)
		if errors.Is(got, hubsync.ErrUnavailable) != c.want {
			t.Errorf("interpretError(%v) = %v; matches ErrUnavailable %v, want %v", c.err, got, !c.want, c.want)
		}
		if !errors.Is(got, c.err) {
			t.Errorf("interpretError(%v) = %v lost the cause", c.err, got)
		}
	}
}
