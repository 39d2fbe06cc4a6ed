package hubsync_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/seal"
)

func testKeyring(t testing.TB, id string, fill byte) *seal.Keyring {
	t.Helper()
	k, err := seal.NewKey(id, []byte(strings.Repeat(string(rune(fill)), seal.KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	kr, err := seal.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// TestSealToken: the stored form is sealed, shows no token, opens back for the same school, and
// does not open for another school or in the other field.
func TestSealToken(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	kr := testKeyring(t, "k1", 'a')
	tok := hubsync.Token{AccessToken: "CJSP-access-1234567890", RefreshToken: "na1-refresh-0987654321"}
	stored, err := hubsync.SealToken(ctx, kr, "school-a", tok)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{stored.AccessToken, stored.RefreshToken} {
		if !hubsync.TokenSealed(s) || strings.Contains(s, "access-1234") || strings.Contains(s, "refresh-0987") {
			t.Errorf("stored token %q is not sealed or shows the token", s)
		}
	}
	got, err := hubsync.OpenToken(ctx, kr, "school-a", stored)
	if err != nil || got != tok {
		t.Fatalf("OpenToken = %+v, %v; want the tokens back", got, err)
	}

	_, err = hubsync.OpenToken(ctx, kr, "school-b", stored)
	if !errors.Is(err, hubsync.ErrUnseal) || !strings.Contains(err.Error(), "access_token of school-b") {
		t.Errorf("another school's row: err = %v; want ErrUnseal naming the field and school", err)
	}
	swapped := hubsync.Token{AccessToken: stored.RefreshToken, RefreshToken: stored.AccessToken}
	if _, err := hubsync.OpenToken(ctx, kr, "school-a", swapped); !errors.Is(err, hubsync.ErrUnseal) {
		t.Errorf("fields swapped: err = %v; want ErrUnseal", err)
	}
	if _, err := hubsync.OpenToken(ctx, testKeyring(t, "k2", 'b'), "school-a", stored); !errors.Is(err, hubsync.ErrUnseal) || !strings.Contains(err.Error(), `"k1"`) {
		t.Errorf("a keyring without k1: err = %v; want ErrUnseal naming k1", err)
	}
	bad := stored
	bad.AccessToken = hubsync.SealedPrefix + "not*base64"
	if _, err := hubsync.OpenToken(ctx, kr, "school-a", bad); !errors.Is(err, hubsync.ErrUnseal) {
		t.Errorf("broken base64: err = %v; want ErrUnseal", err)
	}
}

// TestSealTokenPlain: without a Sealer tokens are stored as given and a sealed one does not
// read; with one, a plain (legacy) token reads as it is; empty tokens stay empty; a token that
// looks sealed is refused.
func TestSealTokenPlain(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	kr := testKeyring(t, "k1", 'a')
	tok := hubsync.Token{AccessToken: "plain-access", RefreshToken: "plain-refresh"}
	stored, err := hubsync.SealToken(ctx, nil, "a", tok)
	if err != nil || stored != tok {
		t.Fatalf("SealToken without a Sealer = %+v, %v; want the tokens as given", stored, err)
	}
	if got, err := hubsync.OpenToken(ctx, kr, "a", tok); err != nil || got != tok {
		t.Errorf("a legacy plain token with a Sealer: %+v, %v; want it as it is", got, err)
	}
	sealed, _ := hubsync.SealToken(ctx, kr, "a", tok)
	if _, err := hubsync.OpenToken(ctx, nil, "a", sealed); !errors.Is(err, hubsync.ErrUnseal) || !strings.Contains(err.Error(), "no key") {
		t.Errorf("a sealed token without a Sealer: err = %v; want ErrUnseal saying no key", err)
	}
	empty, err := hubsync.SealToken(ctx, kr, "a", hubsync.Token{AccessToken: "x"})
	if err != nil || empty.RefreshToken != "" || !hubsync.TokenSealed(empty.AccessToken) {
		t.Errorf("an empty refresh token: %+v, %v; want it empty and the access token sealed", empty, err)
	}
	if _, err := hubsync.SealToken(ctx, nil, "a", hubsync.Token{AccessToken: hubsync.SealedPrefix + "x"}); !errors.Is(err, hubsync.ErrInvalidValue) {
		t.Errorf("a token starting with the sealed prefix: err = %v; want ErrInvalidValue", err)
	}
}

// failingSealer fails every call.
type failingSealer struct{}

func (failingSealer) Seal(context.Context, []byte, []byte) ([]byte, error) {
	return nil, errors.New("kms unavailable")
}
func (failingSealer) Open(context.Context, []byte, []byte) ([]byte, error) {
	return nil, errors.New("kms unavailable")
}

// TestOpenTokenWrapsErrUnseal: a Sealer's own error (a host's KMS) is wrapped in ErrUnseal.
func TestOpenTokenWrapsErrUnseal(t *testing.T) {
	t.Parallel()
	stored, _ := hubsync.SealToken(t.Context(), testKeyring(t, "k1", 'a'), "a", hubsync.Token{AccessToken: "x"})
	_, err := hubsync.OpenToken(t.Context(), failingSealer{}, "a", stored)
	if !errors.Is(err, hubsync.ErrUnseal) || !strings.Contains(err.Error(), "kms unavailable") {
		t.Errorf("err = %v; want ErrUnseal with the sealer's reason", err)
	}
	if _, err := hubsync.SealToken(t.Context(), failingSealer{}, "a", hubsync.Token{AccessToken: "x"}); err == nil {
		t.Error("SealToken ignored the sealer's error")
	}
}
