package hubsync

import (
	"context"
	"errors"
	"fmt"
)

// ResealReport counts what ResealConnections did.
type ResealReport struct {
	// Schools is how many schools the store listed.
	Schools int
	// Connections is how many connections were written back; Tokens how many non-empty tokens
	// they hold (each now in the store's current stored form).
	Connections int
	Tokens      int
	// LMSConnections is how many LMS connections were written back, when the store implements
	// LMSConnections; Secrets how many non-empty secrets they hold.
	LMSConnections int
	Secrets        int
	// Failed is how many schools' connections could not be read or written (the error returned
	// names each).
	Failed int
}

// ResealConnections reads every school's connection from s and writes it back, so a store with
// a Sealer seals plain tokens and re-seals tokens sealed under an older key with its current
// one (the old key must still be in the keyring to open them). When s implements LMSConnections
// it does the same for each school's LMS connection, in the same transaction as the school's
// HubSpot connection. Each school is one transaction
// when s is a Transactor, so a token refreshed meanwhile by a running engine is never
// overwritten by the copy read before it. Writing raises each connection's Generation: running
// engines see it before their next batch and take the (same) tokens again. Schools without a
// connection (of either kind) are skipped. A school that fails does not stop the others; the returned error joins
// one error per failed school, each naming it (and wrapping ErrUnseal when its token did not
// open). Tokens are never in an error.
func ResealConnections(ctx context.Context, s Store) (ResealReport, error) {
	var rep ResealReport
	schools, err := s.ListSchools(ctx)
	if err != nil {
		return rep, fmt.Errorf("hubsync: reseal: listing schools: %w", err)
	}
	rep.Schools = len(schools)
	var errs []error
	for _, school := range schools {
		if err := ctx.Err(); err != nil {
			return rep, errors.Join(append(errs, fmt.Errorf("hubsync: reseal: %w", err))...)
		}
		var tokens, secrets int
		var hs, lms bool
		one := func(ctx context.Context, st Store) error {
			tokens, secrets, hs, lms = 0, 0, false, false
			c, err := st.GetConnection(ctx, school)
			switch {
			case errors.Is(err, ErrNotFound):
			case err != nil:
				return err
			default:
				tokens, hs = countTokens(c.Token), true
				if err := st.PutConnection(ctx, c); err != nil {
					return err
				}
			}
			lc, ok := st.(LMSConnections)
			if !ok {
				return nil
			}
			l, err := lc.GetLMSConnection(ctx, school)
			switch {
			case errors.Is(err, ErrNotFound):
				return nil
			case err != nil:
				return err
			}
			secrets, lms = countLMSSecrets(l), true
			return lc.PutLMSConnection(ctx, l)
		}
		if tx, ok := s.(Transactor); ok {
			err = tx.RunInTx(ctx, func(ctx context.Context, st Store, _ Queue) error { return one(ctx, st) })
		} else {
			err = one(ctx, s)
		}
		if err != nil {
			rep.Failed++
			errs = append(errs, fmt.Errorf("hubsync: reseal %s: %w", school, err))
			continue
		}
		if hs {
			rep.Connections++
			rep.Tokens += tokens
		}
		if lms {
			rep.LMSConnections++
			rep.Secrets += secrets
		}
	}
	return rep, errors.Join(errs...)
}

func countTokens(t Token) int {
	n := 0
	for _, s := range []string{t.AccessToken, t.RefreshToken} {
		if s != "" {
			n++
		}
	}
	return n
}
