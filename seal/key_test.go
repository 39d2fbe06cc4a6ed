package seal_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/hubsync/hubsync/seal"
)

func TestParseKey(t *testing.T) {
	t.Parallel()
	secret := bytes.Repeat([]byte{0xfa, 0x01, 0x7e, 0x3c}, 8)
	derived := seal.DerivedID(secret)
	ok := []struct{ in, id string }{
		{"k1:" + hex.EncodeToString(secret), "k1"},
		{"k1:" + strings.ToUpper(hex.EncodeToString(secret)), "k1"},
		{"  k1 : " + base64.StdEncoding.EncodeToString(secret) + "\n", "k1"},
		{"2026.06_a-b:" + base64.RawStdEncoding.EncodeToString(secret), "2026.06_a-b"},
		{"k1:" + base64.URLEncoding.EncodeToString(secret), "k1"},
		{"k1:" + base64.RawURLEncoding.EncodeToString(secret), "k1"},
		{base64.StdEncoding.EncodeToString(secret), derived},
		{hex.EncodeToString(secret), derived},
	}
	for _, c := range ok {
		k, err := seal.ParseKey(c.in)
		if err != nil {
			t.Errorf("ParseKey(%q): %v", c.in, err)
			continue
		}
		if k.ID() != c.id {
			t.Errorf("ParseKey(%q).ID() = %q, want %q", c.in, k.ID(), c.id)
		}
	}
	if !strings.HasPrefix(derived, "k") || len(derived) != 9 || derived != seal.DerivedID(secret) {
		t.Errorf("DerivedID = %q; want k and 8 hex digits, the same every time", derived)
	}

	short := base64.StdEncoding.EncodeToString(secret[:16])
	bad := []struct{ in, want string }{
		{"", "empty key"},
		{"k1:", `key "k1": empty key`},
		{":" + short, "empty key id"},
		{"bad id:" + short, "character 4"},
		{strings.Repeat("i", 65) + ":" + short, "at most 64"},
		{"k1:" + short, "decodes (base64) to 16 bytes; want exactly 32"},
		{"k1:" + base64.StdEncoding.EncodeToString(append(secret, 1)), "33 bytes"},
		{"k1:" + hex.EncodeToString(secret[:31]) + "zz", "decodes (base64) to 48 bytes"},
		{"k1:not a key at all!", "neither 64 hex digits nor base64"},
	}
	for _, c := range bad {
		_, err := seal.ParseKey(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseKey(%q): err = %v; want one saying %q", c.in, err, c.want)
			continue
		}
		if _, text, _ := strings.Cut(c.in, ":"); len(text) > 8 && strings.Contains(err.Error(), text) {
			t.Errorf("ParseKey(%q): the error echoes the key: %v", c.in, err)
		}
	}
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	a, b := strings.Repeat("11", 32), strings.Repeat("22", 32)
	keys, err := seal.ParseKeys("# current first\n\nnew:" + a + "\n  # rotated out in June\nold:" + b + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].ID() != "new" || keys[1].ID() != "old" {
		t.Fatalf("keys = %v; want new, old", keys)
	}
	for _, c := range []struct{ in, want string }{
		{"", "no key"},
		{"# only a comment\n", "no key"},
		{"a:" + a + "\na:" + b, `line 2: key id "a" is also on line 1`},
		{"a:" + a + "\n\nb:" + b[:10], `seal: line 3: key "b"`},
	} {
		_, err := seal.ParseKeys(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseKeys(%q): err = %v; want one saying %q", c.in, err, c.want)
		}
		if err != nil && (strings.Contains(err.Error(), a) || strings.Contains(err.Error(), b[:10])) {
			t.Errorf("ParseKeys: the error echoes a key: %v", err)
		}
	}
}
