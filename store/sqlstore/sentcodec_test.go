package sqlstore

import (
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
	}
	for _, m := range cases {
		b := encodeMap(m)
		if len(b) > 0 && b[0] != sentCodecV1 {
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

// FuzzSentCodec checks the decoder never panics, fails only with errSentCodec, and that a map it
// accepts encodes and decodes back to itself.
func FuzzSentCodec(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("null"))
	f.Add([]byte(`{"a":"b"}`))
	f.Add(encodeMap(map[string]string{"~": "1", "a": "AAAAAAAAAAAA", "b": "text"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMap(b)
		if err != nil {
			if !errors.Is(err, errSentCodec) {
				t.Fatalf("decodeMap(%q) failed without errSentCodec: %v", b, err)
			}
			return
		}
		back, err := decodeMap(encodeMap(m))
		if err != nil {
			t.Fatalf("decodeMap(encodeMap(%v)): %v", m, err)
		}
		if (back == nil) != (m == nil) || !maps.Equal(back, m) {
			t.Fatalf("round trip of %v gave %v", m, back)
		}
	})
}
