package seal_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/seal"
)

// testKey is a fixed key for tests: byte i of key n is n*32+i.
func testKey(t testing.TB, id string, n byte) seal.Key {
	t.Helper()
	b := make([]byte, seal.KeySize)
	for i := range b {
		b[i] = n*32 + byte(i)
	}
	k, err := seal.NewKey(id, b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ring(t testing.TB, current seal.Key, old ...seal.Key) *seal.Keyring {
	t.Helper()
	kr, err := seal.New(current, old...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// TestRoundTrip: a sealed value opens to the plaintext, does not contain it, names its key id,
// and sealing twice gives two different values (random nonces).
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	kr := ring(t, testKey(t, "k1", 1))
	plain, aad := []byte("CJSP-refresh-token-plain-text"), []byte("school a, refresh")
	a, err := kr.Seal(t.Context(), plain, aad)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := kr.Seal(t.Context(), plain, aad)
	if bytes.Equal(a, b) {
		t.Error("two seals of one plaintext are equal: the nonce is not random")
	}
	if bytes.Contains(a, plain) {
		t.Error("the sealed value contains the plaintext")
	}
	got, err := kr.Open(t.Context(), a, aad)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v; want the plaintext", got, err)
	}
	if id, err := seal.KeyID(a); err != nil || id != "k1" {
		t.Errorf("KeyID = %q, %v; want k1", id, err)
	}
	empty, _ := kr.Seal(t.Context(), nil, aad)
	if got, err := kr.Open(t.Context(), empty, aad); err != nil || len(got) != 0 {
		t.Errorf("Open of a sealed empty value = %q, %v", got, err)
	}
}

// TestOpenRefuses: a wrong key, wrong associated data, every changed byte, a truncated value,
// and garbage all fail with an error wrapping hubsync.ErrUnseal that shows no plaintext.
func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	plain, aad := []byte("secret-token-value"), []byte("school a, access")
	kr := ring(t, testKey(t, "k1", 1))
	sealed, err := kr.Seal(t.Context(), plain, aad)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, kr *seal.Keyring, b, aad []byte, wantInMsg string) {
		t.Helper()
		got, err := kr.Open(t.Context(), b, aad)
		if !errors.Is(err, hubsync.ErrUnseal) {
			t.Errorf("%s: Open = %q, %v; want an error wrapping ErrUnseal", what, got, err)
			return
		}
		if strings.Contains(err.Error(), string(plain)) {
			t.Errorf("%s: the error shows the plaintext: %v", what, err)
		}
		if !strings.Contains(err.Error(), wantInMsg) {
			t.Errorf("%s: error %q does not say %q", what, err, wantInMsg)
		}
	}
	// Same id, other key bytes: the keyring finds "k1" but it does not authenticate.
	check("same id, another key", ring(t, testKey(t, "k1", 2)), sealed, aad, "does not authenticate")
	check("unknown key id", ring(t, testKey(t, "k2", 2)), sealed, aad, `key id "k1"`)
	check("another aad", kr, sealed, []byte("school b, access"), "does not authenticate")
	check("no aad", kr, sealed, nil, "does not authenticate")
	for i := range sealed {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		got, err := kr.Open(t.Context(), b, aad)
		if !errors.Is(err, hubsync.ErrUnseal) {
			t.Fatalf("byte %d flipped: Open = %q, %v; want ErrUnseal", i, got, err)
		}
	}
	for n := range len(sealed) {
		if _, err := kr.Open(t.Context(), sealed[:n], aad); !errors.Is(err, hubsync.ErrUnseal) {
			t.Fatalf("truncated to %d bytes: err = %v; want ErrUnseal", n, err)
		}
	}
	check("a plain token", kr, []byte("CJSP0123456789abcdefghijklmnopqrstuv"), aad, "envelope version")
}

// TestRotation: a keyring with a new current key and the old one opens values of both and seals
// under the new one; without the old key, the old values no longer open.
func TestRotation(t *testing.T) {
	t.Parallel()
	k1, k2 := testKey(t, "2026-01", 1), testKey(t, "2026-06", 2)
	aad := []byte("aad")
	old, _ := ring(t, k1).Seal(t.Context(), []byte("old token"), aad)
	rotated := ring(t, k2, k1)
	if got, err := rotated.Open(t.Context(), old, aad); err != nil || string(got) != "old token" {
		t.Fatalf("rotated keyring opens the old value: %q, %v", got, err)
	}
	fresh, _ := rotated.Seal(t.Context(), []byte("new token"), aad)
	if id, _ := seal.KeyID(fresh); id != "2026-06" || rotated.CurrentID() != "2026-06" {
		t.Errorf("new value sealed under %q (current %q); want 2026-06", id, rotated.CurrentID())
	}
	if !rotated.Has("2026-01") || rotated.Has("2025-12") {
		t.Error("Has is wrong")
	}
	newOnly := ring(t, k2)
	if _, err := newOnly.Open(t.Context(), fresh, aad); err != nil {
		t.Errorf("the new key alone opens the new value: %v", err)
	}
	if _, err := newOnly.Open(t.Context(), old, aad); !errors.Is(err, hubsync.ErrUnseal) {
		t.Errorf("the new key alone opens the old value: err = %v; want ErrUnseal", err)
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	if _, err := seal.New(seal.Key{}); err == nil {
		t.Error("New accepted the zero Key")
	}
	k := testKey(t, "same", 1)
	if _, err := seal.New(k, testKey(t, "same", 2)); err == nil || !strings.Contains(err.Error(), `"same"`) {
		t.Errorf("New with two keys of one id: err = %v", err)
	}
}

// TestKeyPrintsNoSecret: a Key printed every way shows its id and none of its bytes.
func TestKeyPrintsNoSecret(t *testing.T) {
	t.Parallel()
	k, err := seal.ParseKey("prod-1:" + strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	if out := fmt.Sprintf("%x", k); out != fmt.Sprintf("%x", k.String()) {
		t.Errorf("%%x of a Key = %q; want the hex of its String", out)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		out := fmt.Sprintf(verb, k)
		if strings.Contains(strings.ToLower(out), "abab") || strings.Contains(out, "171") || !strings.Contains(out, "prod-1") {
			t.Errorf("%s of a Key = %q; want its id only", verb, out)
		}
	}
	if out := fmt.Sprintf("%v", []seal.Key{k}); strings.Contains(out, "171") {
		t.Errorf("a slice of keys prints %q", out)
	}
}
