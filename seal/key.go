package seal

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of every key: 32 bytes, for AES-256.
const KeySize = 32

// maxIDLen caps a key id, which every sealed value carries.
const maxIDLen = 64

// Key is one AES-256 key and its id. The id is stored in every value sealed with the key, so the
// keyring finds the key to open it with; it is not secret. Printing a Key (with %v, %s, %#v or
// slog) shows only its id, never the key bytes. The zero Key is not a usable key.
type Key struct {
	id     string
	secret []byte
}

// NewKey returns the key id with the secret bytes, which must be exactly KeySize long (a copy is
// kept). An id is 1 to 64 letters, digits, '.', '_' or '-'. Errors say what is wrong without
// showing the secret.
func NewKey(id string, secret []byte) (Key, error) {
	if err := checkID(id); err != nil {
		return Key{}, err
	}
	if len(secret) != KeySize {
		return Key{}, fmt.Errorf("seal: key %q is %d bytes; want exactly %d", id, len(secret), KeySize)
	}
	return Key{id: id, secret: append([]byte(nil), secret...)}, nil
}

// ID returns the key's id.
func (k Key) ID() string { return k.id }

// String returns "seal.Key(<id>)": never the key bytes.
func (k Key) String() string { return "seal.Key(" + k.id + ")" }

// GoString is String, so %#v shows no key bytes either.
func (k Key) GoString() string { return k.String() }

func checkID(id string) error {
	if id == "" {
		return errors.New("seal: empty key id")
	}
	if len(id) > maxIDLen {
		return fmt.Errorf("seal: key id is %d characters; want at most %d", len(id), maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("seal: key id %q: character %d is not a letter, digit, '.', '_' or '-'", printableID(id), i+1)
		}
	}
	return nil
}

// printableID is id with anything outside printable ASCII replaced, for an error message.
func printableID(id string) string {
	if len(id) > maxIDLen {
		id = id[:maxIDLen]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, id)
}

// ParseKey parses one key as an operator writes it: "ID:KEY", or "KEY" alone. KEY is the 32
// key bytes in hex (64 digits) or base64 (standard or URL alphabet, padded or not; "openssl rand
// -base64 32" makes one). Without an ID the key's id is DerivedID of the key. Space around the
// parts is ignored. The error says what is wrong (the id, the encoding, the decoded length) and
// never contains the key text.
func ParseKey(s string) (Key, error) {
	s = strings.TrimSpace(s)
	id, text, hasID := strings.Cut(s, ":")
	if !hasID {
		id, text = "", s
	}
	id, text = strings.TrimSpace(id), strings.TrimSpace(text)
	if hasID {
		if err := checkID(id); err != nil {
			return Key{}, err
		}
	}
	name := "key"
	if hasID {
		name = fmt.Sprintf("key %q", id)
	}
	if text == "" {
		return Key{}, fmt.Errorf("seal: %s: empty key", name)
	}
	secret, err := decodeSecret(text)
	if err != nil {
		return Key{}, fmt.Errorf("seal: %s: %w", name, err)
	}
	if !hasID {
		id = DerivedID(secret)
	}
	return NewKey(id, secret)
}

// decodeSecret decodes 32 bytes of hex or base64; its errors never contain text.
func decodeSecret(text string) ([]byte, error) {
	if len(text) == 2*KeySize {
		if b, err := hex.DecodeString(text); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(text)
		if err != nil {
			continue
		}
		if len(b) != KeySize {
			return nil, fmt.Errorf("the key decodes (base64) to %d bytes; want exactly %d (\"openssl rand -base64 32\" makes one)", len(b), KeySize)
		}
		return b, nil
	}
	return nil, fmt.Errorf("the key (%d characters) is neither 64 hex digits nor base64 of %d bytes", len(text), KeySize)
}

// DerivedID is the id of a key given without one: "k" and the first 8 hex digits of a SHA-256
// of the key (a fingerprint that tells keys apart; it reveals nothing usable of a random key).
// The same key always gets the same id.
func DerivedID(secret []byte) string {
	h := sha256.Sum256(append([]byte("hubsync seal key id\x00"), secret...))
	return "k" + hex.EncodeToString(h[:4])
}

// ParseKeys parses a key file: one key per line as ParseKey takes it ("ID:KEY" or "KEY"); blank
// lines and lines starting with '#' are skipped. The first key is the current one (it seals),
// the others are old ones (they only open): pass the result to New as New(keys[0], keys[1:]...).
// It fails when there is no key, when two keys have the same id, or on the first bad line, naming
// its number and never its text.
func ParseKeys(text string) ([]Key, error) {
	var keys []Key
	seen := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, err := ParseKey(l)
		if err != nil {
			return nil, fmt.Errorf("seal: line %d: %s", line, strings.TrimPrefix(err.Error(), "seal: "))
		}
		if first, dup := seen[k.id]; dup {
			return nil, fmt.Errorf("seal: line %d: key id %q is also on line %d", line, k.id, first)
		}
		seen[k.id] = line
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("seal: reading keys: line %d is too long", line+1)
	}
	if len(keys) == 0 {
		return nil, errors.New("seal: no key (want lines of ID:KEY, the current key first)")
	}
	return keys, nil
}
