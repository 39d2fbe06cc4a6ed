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
// hold the maps as JSON objects, or in an older version of the form; those still read, and the
// next write of the state stores it in the newest version (format 2).
//
// Format 2, the bytes of one map:
//
//	0x02                    the version (JSON starts with '{', 'n' or white space, never 0x02)
//	flags                   one byte: bit 0 set when the map holds the key "~" with the value "1"
//	                        (hubsync's mark of a map of sent forms), which is then not stored as
//	                        an entry; the other bits are 0
//	entry*                  one per other key, in increasing byte order of the keys:
//	  uvarint k             k odd: the key is sentKeys[k>>1] (a property or field name most
//	                        schools map, one byte instead of its letters); k even: the key
//	                        itself, k/2 bytes, follows
//	  uvarint h             h == 1: a fingerprint, its 9 bytes follow (the value is their 12
//	                        characters of unpadded base64url, which is how hubsync writes the
//	                        fingerprint of a long value); h even: the value itself, h/2 bytes,
//	                        follows
//
// Format 1 (version byte 0x01) is format 2 without the dictionary: every key is a uvarint
// length and the key's bytes.
//
// A nil map is stored as no bytes at all (an empty map is the two bytes 0x02 0x00), so both
// round-trip as themselves. Keys and values are any strings: a value that only looks like a
// fingerprint (12 characters of base64url) is stored in its 9 bytes and read back the same.
const (
	sentCodecV1    = 0x01
	sentCodecV2    = 0x02
	sentFlagMarked = 0x01
	// The mark hubsync puts in a map of sent forms (hubsync's sentFormatKey and sentFormatV1).
	sentMarkKey, sentMarkValue = "~", "1"
	fingerprintChars           = 12
	fingerprintBytes           = 9
)

// sentKeys is format 2's key dictionary: the HubSpot contact properties and the LearnWorlds user
// fields (catalog.go) schools map most. It is stored (a key's code is its index), so it never
// changes: a format with other keys is a new version. It has at most 63 keys, so every code's
// uvarint is one byte.
var sentKeys = [...]string{
	// HubSpot contact properties.
	"email", "firstname", "lastname", "phone", "mobilephone", "company", "jobtitle", "website",
	"address", "city", "state", "zip", "country", "date_of_birth", "lifecyclestage", "industry",
	"gender", "hs_language", "numemployees", "annualrevenue", "hs_lead_status", "message",
	// LearnWorlds user fields.
	"username", "first_name", "last_name", "bio", "birthday", "location", "company_size",
	"university", "graduation_year", "linkedin", "twitter", "instagram", "fb", "github", "skype",
	"url", "behance", "dribbble", "nps_score", "last_login", "last_purchase_date", "created",
	"bf_name", "bf_address", "bf_city", "bf_country", "bf_postalcode", "bf_taxid",
	"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
}

// sentKeyCodes is sentKeys' inverse.
var sentKeyCodes = func() map[string]uint64 {
	m := make(map[string]uint64, len(sentKeys))
	for i, k := range sentKeys {
		m[k] = uint64(i)
	}
	return m
}()

var fingerprintEncoding = base64.RawURLEncoding

// errSentCodec is wrapped by every error of decodeMap about the bytes it was given.
var errSentCodec = errors.New("undecodable sent map")

// encodeMap encodes m in format 2; a nil map is nil.
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
	b[0] = sentCodecV2
	var fp [fingerprintBytes]byte
	for _, k := range keys {
		v := m[k]
		if k == sentMarkKey && v == sentMarkValue {
			b[1] |= sentFlagMarked
			continue
		}
		if c, ok := sentKeyCodes[k]; ok {
			b = binary.AppendUvarint(b, c<<1|1)
		} else {
			b = binary.AppendUvarint(b, uint64(len(k))<<1)
			b = append(b, k...)
		}
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

// decodeMap decodes what encodeMap made (format 2), format 1, or (rows written before format 1)
// a JSON object or null; no bytes are the nil map. Bytes it cannot decode fail with an error
// wrapping errSentCodec, never a panic.
func decodeMap(b []byte) (map[string]string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	version := b[0]
	if version != sentCodecV1 && version != sentCodecV2 {
		return decodeJSONMap(b)
	}
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: format %d without its flags byte", errSentCodec, version)
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
		var k string
		var r []byte
		var err error
		if version == sentCodecV1 {
			k, r, err = takeString(rest, "key")
		} else {
			k, r, err = takeKey(rest)
		}
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

// takeKey reads a format-2 key: a dictionary code or a literal key.
func takeKey(b []byte) (string, []byte, error) {
	k, n := binary.Uvarint(b)
	if n <= 0 {
		return "", nil, fmt.Errorf("%w: bad key header", errSentCodec)
	}
	b = b[n:]
	if k&1 == 1 {
		if k>>1 >= uint64(len(sentKeys)) {
			return "", nil, fmt.Errorf("%w: key code %d not in the dictionary", errSentCodec, k>>1)
		}
		return sentKeys[k>>1], b, nil
	}
	if k>>1 > uint64(len(b)) {
		return "", nil, fmt.Errorf("%w: key longer than the bytes left", errSentCodec)
	}
	key := string(b[:k>>1])
	if _, ok := sentKeyCodes[key]; ok {
		// One encoding per map: a dictionary key is always its code.
		return "", nil, fmt.Errorf("%w: dictionary key %q stored by its letters", errSentCodec, key)
	}
	return key, b[k>>1:], nil
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
