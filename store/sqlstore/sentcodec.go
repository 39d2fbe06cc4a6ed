package sqlstore

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// This file is how a sync state's sent maps (hubsync.SyncState.SentToHubSpot and SentToLMS) are
// stored: a compact, versioned binary form, read back to the map given. Rows written before it
// hold the maps as JSON objects; those still read, and the next write of the state stores it in
// the binary form.
//
// Format 1, the bytes of one map:
//
//	0x01                    the version (JSON starts with '{', 'n' or white space, never 0x01)
//	flags                   one byte: bit 0 set when the map holds the key "~" with the value "1"
//	                        (hubsync's mark of a map of sent forms), which is then not stored as
//	                        an entry; the other bits are 0
//	entry*                  one per other key, in increasing byte order of the keys:
//	  uvarint len(key), key
//	  uvarint h             h == 1: a fingerprint, its 9 bytes follow (the value is their 12
//	                        characters of unpadded base64url, which is how hubsync writes the
//	                        fingerprint of a long value); h even: the value itself, h/2 bytes,
//	                        follows
//
// A nil map is stored as no bytes at all (an empty map is the two bytes 0x01 0x00), so both
// round-trip as themselves. Keys and values are any strings: a value that only looks like a
// fingerprint (12 characters of base64url) is stored in its 9 bytes and read back the same.
const (
	sentCodecV1    = 0x01
	sentFlagMarked = 0x01
	// The mark hubsync puts in a map of sent forms (hubsync's sentFormatKey and sentFormatV1).
	sentMarkKey, sentMarkValue = "~", "1"
	fingerprintChars           = 12
	fingerprintBytes           = 9
)

var fingerprintEncoding = base64.RawURLEncoding

// errSentCodec is wrapped by every error of decodeMap about the bytes it was given.
var errSentCodec = errors.New("undecodable sent map")

// encodeMap encodes m in format 1; a nil map is nil.
func encodeMap(m map[string]string) []byte {
	if m == nil {
		return nil
	}
	keys := make([]string, 0, len(m))
	size := 2
	for k, v := range m {
		keys = append(keys, k)
		size += len(k) + len(v) + 2*binary.MaxVarintLen16
	}
	slices.Sort(keys)
	b := make([]byte, 2, size)
	b[0] = sentCodecV1
	var fp [fingerprintBytes]byte
	for _, k := range keys {
		v := m[k]
		if k == sentMarkKey && v == sentMarkValue {
			b[1] |= sentFlagMarked
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		if isFingerprint(v, &fp) {
			b = append(b, 1)
			b = append(b, fp[:]...)
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(v))<<1)
		b = append(b, v...)
	}
	return b
}

// isFingerprint reports whether v is 12 characters of unpadded base64url, and puts the 9 bytes
// they encode in fp.
func isFingerprint(v string, fp *[fingerprintBytes]byte) bool {
	if len(v) != fingerprintChars {
		return false
	}
	if n, err := fingerprintEncoding.Decode(fp[:], []byte(v)); err != nil || n != fingerprintBytes {
		return false
	}
	var back [fingerprintChars]byte
	fingerprintEncoding.Encode(back[:], fp[:])
	return string(back[:]) == v // the decoder skips line breaks: only the 12 characters themselves
}

// decodeMap decodes what encodeMap made, or (rows written before format 1) a JSON object or null;
// no bytes are the nil map. Bytes it cannot decode fail with an error wrapping errSentCodec,
// never a panic.
func decodeMap(b []byte) (map[string]string, error) {
	switch {
	case len(b) == 0:
		return nil, nil
	case b[0] != sentCodecV1:
		return decodeJSONMap(b)
	}
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: format 1 without its flags byte", errSentCodec)
	}
	flags := b[1]
	if flags&^sentFlagMarked != 0 {
		return nil, fmt.Errorf("%w: unknown flags %#x", errSentCodec, flags)
	}
	m := map[string]string{}
	if flags&sentFlagMarked != 0 {
		m[sentMarkKey] = sentMarkValue
	}
	rest := b[2:]
	prev, first := "", true
	for len(rest) > 0 {
		k, r, err := takeString(rest, "key")
		if err != nil {
			return nil, err
		}
		if !first && k <= prev {
			return nil, fmt.Errorf("%w: keys out of order", errSentCodec)
		}
		if k == sentMarkKey && flags&sentFlagMarked != 0 {
			return nil, fmt.Errorf("%w: the key %q both marked and stored", errSentCodec, sentMarkKey)
		}
		h, n := binary.Uvarint(r)
		if n <= 0 {
			return nil, fmt.Errorf("%w: bad value header", errSentCodec)
		}
		r = r[n:]
		var v string
		switch {
		case h == 1:
			if len(r) < fingerprintBytes {
				return nil, fmt.Errorf("%w: short fingerprint", errSentCodec)
			}
			v, r = fingerprintEncoding.EncodeToString(r[:fingerprintBytes]), r[fingerprintBytes:]
		case h&1 == 0:
			if h>>1 > uint64(len(r)) {
				return nil, fmt.Errorf("%w: value longer than the bytes left", errSentCodec)
			}
			v, r = string(r[:h>>1]), r[h>>1:]
		default:
			return nil, fmt.Errorf("%w: bad value header %d", errSentCodec, h)
		}
		m[k] = v
		prev, first, rest = k, false, r
	}
	return m, nil
}

// takeString reads a uvarint length and that many bytes.
func takeString(b []byte, what string) (string, []byte, error) {
	l, n := binary.Uvarint(b)
	if n <= 0 {
		return "", nil, fmt.Errorf("%w: bad %s length", errSentCodec, what)
	}
	b = b[n:]
	if l > uint64(len(b)) {
		return "", nil, fmt.Errorf("%w: %s longer than the bytes left", errSentCodec, what)
	}
	return string(b[:l]), b[l:], nil
}

// decodeJSONMap reads a map stored before format 1: a JSON object of strings, or null.
func decodeJSONMap(b []byte) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", errSentCodec, err)
	}
	return m, nil
}
