package hubsync

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// This file declares the Sealer port (how a Store keeps a school's OAuth tokens unreadable at
// rest) and the one stored form every store in this module shares, so a token sealed by one store
// opens in another. Package seal implements Sealer with AES-256-GCM under keys with ids.

// Sealer seals and opens small secrets: the OAuth tokens a Store keeps. A store given a Sealer
// calls Seal before it writes a token and Open after it reads one; aad (associated data) names
// the school and the token's field, so a sealed value opens only where it was sealed. Seal must
// give a value Open turns back into plaintext for the same aad, and Open must fail for any other
// aad and for bytes that were changed. Both must be safe for concurrent use and must never put
// the plaintext or a key in an error.
//
// Package seal's Keyring is the standard implementation (AES-256-GCM, key ids, rotation). A host
// with a key management service implements Sealer over it; since a store opens the tokens on
// every GetConnection (the engine reads the connection before each batch), such a Sealer should
// unwrap a data key once and seal locally (envelope encryption) rather than call the service
// each time.
type Sealer interface {
	// Seal returns plaintext sealed, bound to aad.
	Seal(ctx context.Context, plaintext, aad []byte) ([]byte, error)
	// Open returns the plaintext of what Seal returned for the same aad. Failures wrap ErrUnseal.
	Open(ctx context.Context, sealed, aad []byte) ([]byte, error)
}

// ErrUnseal: a stored token is sealed and cannot be opened: the store has no Sealer, the key it
// was sealed with is not in the keyring, or the value was changed or belongs to another school or
// field. The message says which (naming a key id, never a key); the token is not returned.
var ErrUnseal = errors.New("hubsync: sealed token cannot be opened")

// SealedPrefix starts every sealed token as a store keeps it: SealedPrefix, then the Sealer's
// output in unpadded base64url. A stored token without it is plain (written before the store
// had a Sealer): it reads as it is and is sealed on the connection's next write. No HubSpot token
// starts with it.
const SealedPrefix = "sealed:"

// TokenSealed reports whether stored, a token as a store keeps it, is sealed.
func TokenSealed(stored string) bool { return strings.HasPrefix(stored, SealedPrefix) }

// Token fields, as the associated data names them.
const (
	fieldAccess  = "access_token"
	fieldRefresh = "refresh_token"
)

// tokenAAD is the associated data binding a sealed token to its field and school: a value
// copied into another school's row, or from the access into the refresh column, does not open.
func tokenAAD(school SchoolID, field string) []byte {
	return []byte("hubsync connection token\x00" + field + "\x00" + string(school))
}

// SealToken returns t with AccessToken and RefreshToken in their stored form: sealed with s
// (SealedPrefix and base64url), bound to school and to the field. An empty token stays empty
// (there is nothing to hide, and "no refresh token" stays visible). With a nil s the tokens are
// returned as they are, plain. A token that already starts with SealedPrefix is refused (it would
// read back as sealed), with an error wrapping ErrInvalidValue. Every Store calls it in
// PutConnection before writing; its errors name the school and field, never the token.
func SealToken(ctx context.Context, s Sealer, school SchoolID, t Token) (Token, error) {
	var err error
	if t.AccessToken, err = sealOne(ctx, s, school, fieldAccess, t.AccessToken); err != nil {
		return Token{}, err
	}
	if t.RefreshToken, err = sealOne(ctx, s, school, fieldRefresh, t.RefreshToken); err != nil {
		return Token{}, err
	}
	return t, nil
}

func sealOne(ctx context.Context, s Sealer, school SchoolID, field, plain string) (string, error) {
	return sealValue(ctx, s, school, field, plain, tokenAAD(school, field))
}

// sealValue seals plain, the school's secret field, bound to aad: "" stays "", a nil s keeps it
// plain, a value that looks sealed is refused.
func sealValue(ctx context.Context, s Sealer, school SchoolID, field, plain string, aad []byte) (string, error) {
	switch {
	case plain == "":
		return "", nil
	case TokenSealed(plain):
		return "", fmt.Errorf("%w: %s of %s starts with %q, which marks a sealed token", ErrInvalidValue, field, school, SealedPrefix)
	case s == nil:
		return plain, nil
	}
	b, err := s.Seal(ctx, []byte(plain), aad)
	if err != nil {
		return "", fmt.Errorf("hubsync: sealing %s of %s: %w", field, school, err)
	}
	return SealedPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// OpenToken returns t, as a store read it, with sealed tokens opened by s for school. Plain
// tokens (without SealedPrefix) are returned as they are, with or without s. A sealed token that
// does not open (s nil, an unknown key, changed bytes, another school's or field's value) is an
// error wrapping ErrUnseal that names the school and field. Every Store calls it in GetConnection
// after reading.
func OpenToken(ctx context.Context, s Sealer, school SchoolID, t Token) (Token, error) {
	var err error
	if t.AccessToken, err = openOne(ctx, s, school, fieldAccess, t.AccessToken); err != nil {
		return Token{}, err
	}
	if t.RefreshToken, err = openOne(ctx, s, school, fieldRefresh, t.RefreshToken); err != nil {
		return Token{}, err
	}
	return t, nil
}

func openOne(ctx context.Context, s Sealer, school SchoolID, field, stored string) (string, error) {
	return openValue(ctx, s, school, field, stored, tokenAAD(school, field))
}

// openValue opens stored, the school's secret field as a store keeps it, bound to aad; a plain
// value is returned as it is.
func openValue(ctx context.Context, s Sealer, school SchoolID, field, stored string, aad []byte) (string, error) {
	if !TokenSealed(stored) {
		return stored, nil
	}
	if s == nil {
		return "", fmt.Errorf("%w: %s of %s is sealed and the store was given no key", ErrUnseal, field, school)
	}
	b, err := base64.RawURLEncoding.DecodeString(stored[len(SealedPrefix):])
	if err != nil {
		return "", fmt.Errorf("%w: %s of %s: the sealed value is not base64url", ErrUnseal, field, school)
	}
	plain, err := s.Open(ctx, b, aad)
	if err != nil {
		if !errors.Is(err, ErrUnseal) {
			err = fmt.Errorf("%w: %w", ErrUnseal, err)
		}
		return "", fmt.Errorf("hubsync: opening %s of %s: %w", field, school, err)
	}
	return string(plain), nil
}
