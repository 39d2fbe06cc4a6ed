package sqlstore

import (
	"bytes"
	"errors"
	"maps"
	"testing"
)

func TestSentCodecRoundTrip(t *testing.T) {
	cases := []map[string]string{
		nil,
		{},
		{"~": "1"},
		{"~": "2", "a": ""},
		{"email": "x", "firstname": "Ada", "fp": "AAAAAAAAAAAA", "near": "AAAAAAAAAAA=", "long": string(make([]byte, 300))},
		{"~": "1", "hs:course": "abcdefghijk_", "hs:x": "abc\ndefghijk"},
		{"~": "1", "email": "a@b.example", "firstname": "Ada", "zz_custom": "AAAAAAAAAAAA", "utm_content": ""},
	}
	for _, m := range cases {
		b := encodeMap(m)
		if len(b) > 0 && b[0] != sentCodecV2 {
			t.Fatalf("encodeMap(%v) starts with %#x, want the version byte", m, b[0])
		}
		got, err := decodeMap(b)
		if err != nil {
			t.Fatalf("decodeMap(encodeMap(%v)): %v", m, err)
		}
		if (got == nil) != (m == nil) || !maps.Equal(got, m) {
			t.Errorf("round trip of %v gave %v", m, got)
		}
	}
}

// TestSentCodecFormat2 pins format 2's bytes: a dictionary key is one byte (its code, odd), any
// other its length (even) and letters, in the keys' byte order.
func TestSentCodecFormat2(t *testing.T) {
	got := encodeMap(map[string]string{"~": "1", "firstname": "Ada", "a": "AAAAAAAAAAAA", "email": "x"})
	want := []byte{sentCodecV2, sentFlagMarked,
		1 << 1, 'a', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, // "a": a literal key of 1 byte, a fingerprint value
		0<<1 | 1, 1 << 1, 'x', // "email": code 0
		1<<1 | 1, 3 << 1, 'A', 'd', 'a', // "firstname": code 1
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encodeMap = %v, want %v", got, want)
	}
	if len(sentKeys) > 63 {
		t.Fatalf("sentKeys has %d keys; a code's uvarint is one byte only up to 63", len(sentKeys))
	}
	if sentKeys[0] != "email" || sentKeys[1] != "firstname" || sentKeys[len(sentKeys)-1] != "utm_content" {
		t.Fatalf("sentKeys changed (a stored code would name another key): %q", sentKeys)
	}
}

// TestSentCodecReadsFormat1: a map stored in format 1 (every key by its letters) reads back the
// same, and is written again in format 2.
func TestSentCodecReadsFormat1(t *testing.T) {
	v1 := []byte{sentCodecV1, sentFlagMarked, 5, 'e', 'm', 'a', 'i', 'l', 2, 'x', 9, 'f', 'i', 'r', 's', 't', 'n', 'a', 'm', 'e', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	got, err := decodeMap(v1)
	want := map[string]string{"~": "1", "email": "x", "firstname": "AAAAAAAAAAAA"}
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("decodeMap(format 1) = %v, %v; want %v", got, err, want)
	}
	again := encodeMap(got)
	if again[0] != sentCodecV2 || len(again) >= len(v1) {
		t.Fatalf("re-encoded format-1 map = %v (%d bytes), want format 2, shorter than the %d of format 1", again, len(again), len(v1))
	}
	for _, b := range [][]byte{
		{sentCodecV2, 0, 63<<1 | 1, 0},                       // a code past the dictionary
		{sentCodecV2, 0, 5 << 1, 'e', 'm', 'a', 'i', 'l', 0}, // a dictionary key by its letters
		{sentCodecV2, 0, 1<<1 | 1, 0, 0<<1 | 1, 0},           // firstname before email
		{sentCodecV2, 0, 4 << 1, 'a'},                        // a key past the end
	} {
		if _, err := decodeMap(b); !errors.Is(err, errSentCodec) {
			t.Errorf("decodeMap(%v) = %v, want errSentCodec", b, err)
		}
	}
}

func TestSentCodecReadsJSON(t *testing.T) {
	got, err := decodeMap([]byte(`{"a":"b","~":"1"}`))
	if err != nil || !maps.Equal(got, map[string]string{"a": "b", "~": "1"}) {
		t.Fatalf("JSON object: %v, %v", got, err)
	}
	if got, err := decodeMap([]byte("null")); err != nil || got != nil {
		t.Fatalf("JSON null: %v, %v; want the nil map", got, err)
	}
	for _, b := range [][]byte{{sentCodecV1}, {sentCodecV1, 2}, {sentCodecV1, 0, 5, 'a'}, {sentCodecV1, 0, 1, 'a', 3}, []byte("{")} {
		if _, err := decodeMap(b); !errors.Is(err, errSentCodec) {
			t.Errorf("decodeMap(%q) = %v, want errSentCodec", b, err)
		}
	}
}

// FuzzSentCodec checks the decoder never panics on any bytes (JSON, format 1, format 2), fails only
// with errSentCodec, and that a map it accepts encodes in format 2 and decodes back to itself.
func FuzzSentCodec(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("null"))
	f.Add([]byte(`{"a":"b"}`))
	f.Add(encodeMap(map[string]string{"~": "1", "a": "AAAAAAAAAAAA", "b": "text"}))
	f.Add(encodeMap(map[string]string{"~": "1", "email": "a@b.example", "firstname": "Ada", "zz": "AAAAAAAAAAAA"}))
	f.Add([]byte{sentCodecV1, sentFlagMarked, 5, 'e', 'm', 'a', 'i', 'l', 2, 'x', 1, 'z', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{sentCodecV2, 0, 63<<1 | 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMap(b)
		if err != nil {
			if !errors.Is(err, errSentCodec) {
				t.Fatalf("decodeMap(%q) failed without errSentCodec: %v", b, err)
			}
			return
		}
		enc := encodeMap(m)
		if m != nil && (len(enc) < 2 || enc[0] != sentCodecV2) {
			t.Fatalf("encodeMap(%v) = %v, want format 2", m, enc)
		}
		back, err := decodeMap(enc)
		if err != nil {
			t.Fatalf("decodeMap(encodeMap(%v)): %v", m, err)
		}
		if (back == nil) != (m == nil) || !maps.Equal(back, m) {
			t.Fatalf("round trip of %v gave %v", m, back)
		}
	})
}
