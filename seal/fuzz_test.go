package seal_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/seal"
)

// FuzzOpen feeds arbitrary bytes to the envelope parser: Open never panics, fails with
// ErrUnseal on anything Seal did not make, and KeyID agrees with Open on what is an envelope.
func FuzzOpen(f *testing.F) {
	kr := ring(f, testKey(f, "k1", 1), testKey(f, "k0", 0))
	good, _ := kr.Seal(f.Context(), []byte("token"), []byte("aad"))
	f.Add(good, []byte("aad"))
	f.Add(good[:len(good)-1], []byte("aad"))
	f.Add([]byte{1, 2, 'k', '1'}, []byte(nil))
	f.Add([]byte{1, 0}, []byte(nil))
	f.Add([]byte{2, 2, 'k', '0', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, []byte(nil))
	f.Add([]byte("CJSP-a-plain-token"), []byte("aad"))
	f.Fuzz(func(t *testing.T, b, aad []byte) {
		plain, err := kr.Open(t.Context(), b, aad)
		if err == nil {
			// Only Seal's own output opens (the fuzzer cannot forge a GCM tag), and these keys
			// sealed nothing but "token" for "aad" (good differs between fuzzing processes: its
			// nonce is random).
			if !bytes.Equal(aad, []byte("aad")) || string(plain) != "token" {
				t.Fatalf("Open accepted bytes Seal did not make: %x", b)
			}
			return
		}
		if !errors.Is(err, hubsync.ErrUnseal) {
			t.Fatalf("Open error %v does not wrap ErrUnseal", err)
		}
		if _, kerr := seal.KeyID(b); kerr != nil && !errors.Is(kerr, hubsync.ErrUnseal) {
			t.Fatalf("KeyID error %v does not wrap ErrUnseal", kerr)
		}
	})
}

// FuzzParseKey: ParseKey never panics, a key it accepts has a valid id and 32 bytes that seal
// and open, and its errors never contain the key text.
func FuzzParseKey(f *testing.F) {
	for _, s := range []string{
		"k1:" + strings.Repeat("ab", 32), strings.Repeat("ab", 32), "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", ":", "a:b:c", "k1:" + strings.Repeat("A", 44), "é:xx",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := seal.ParseKey(s)
		if err != nil {
			id, text, found := strings.Cut(s, ":")
			if !found {
				id, text = "", s
			}
			text = strings.TrimSpace(text)
			// The id is named on purpose; the key text must not be.
			if len(text) >= 12 && strings.Contains(err.Error(), text) && !strings.Contains(id, text) {
				t.Fatalf("the error echoes the key text: %v", err)
			}
			return
		}
		kr, err := seal.New(k)
		if err != nil {
			t.Fatalf("New refused a parsed key: %v", err)
		}
		b, _ := kr.Seal(t.Context(), []byte("x"), nil)
		if id, err := seal.KeyID(b); err != nil || id != k.ID() {
			t.Fatalf("KeyID = %q, %v; want %q", id, err, k.ID())
		}
		if _, err := kr.Open(t.Context(), b, nil); err != nil {
			t.Fatal(err)
		}
	})
}
