package seal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"

	"github.com/hubsync/hubsync"
)

// version is the first byte of every sealed value this package writes.
const version byte = 1

// The envelope of a sealed value:
//
//	version (1 byte) | id length n (1 byte) | key id (n bytes) | nonce (12 bytes) | ciphertext | tag (16 bytes)
//
// AES-256-GCM seals the plaintext under the key named by the id, with a random 96-bit nonce,
// and authenticates the header (version, id) along with the caller's associated data, so a
// changed id, nonce, ciphertext or tag, or another aad, makes Open fail.
const (
	nonceSize = 12
	tagSize   = 16
	// minEnvelope is the shortest envelope: a one-byte id and an empty plaintext.
	minEnvelope = 2 + 1 + nonceSize + tagSize
)

// Keyring is a hubsync.Sealer: it seals with its current key and opens with any of its keys,
// found by the key id each sealed value carries. Rotating is giving a new current key and keeping
// the old ones until every value was sealed again ("hubsync reseal", or
// hubsync.ResealConnections): values sealed under an old key still open, new ones are sealed
// under the new key. A Keyring is safe for concurrent use.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
}

var _ hubsync.Sealer = (*Keyring)(nil)

// New returns a keyring that seals with current and opens with current and old. It fails on a
// zero Key or when two keys share an id.
func New(current Key, old ...Key) (*Keyring, error) {
	kr := &Keyring{current: current.id, aeads: map[string]cipher.AEAD{}}
	for _, k := range append([]Key{current}, old...) {
		if k.id == "" || len(k.secret) != KeySize {
			return nil, errors.New("seal: a key is the zero Key; make keys with NewKey or ParseKey")
		}
		if _, dup := kr.aeads[k.id]; dup {
			return nil, fmt.Errorf("seal: two keys have the id %q", k.id)
		}
		block, err := aes.NewCipher(k.secret)
		if err != nil {
			return nil, fmt.Errorf("seal: key %q: %w", k.id, err)
		}
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("seal: key %q: %w", k.id, err)
		}
		kr.aeads[k.id] = aead
	}
	return kr, nil
}

// CurrentID returns the id of the key that seals.
func (kr *Keyring) CurrentID() string { return kr.current }

// Has reports whether the keyring holds a key with the id.
func (kr *Keyring) Has(id string) bool { _, ok := kr.aeads[id]; return ok }

// Seal seals plaintext under the current key, bound to aad, in the versioned envelope described
// above. It fails only if the system's random source does.
func (kr *Keyring) Seal(_ context.Context, plaintext, aad []byte) ([]byte, error) {
	head := header(kr.current)
	out := kr.aeads[kr.current].Seal(head, nil, plaintext, additional(head, aad))
	return out, nil
}

// Open opens a value Seal made with any key of the keyring and the same aad. Every failure wraps
// hubsync.ErrUnseal: a value that is not an envelope of this package, a key id the keyring does
// not hold (named in the message), or bytes that do not authenticate (changed, or sealed for
// another aad).
func (kr *Keyring) Open(_ context.Context, sealed, aad []byte) ([]byte, error) {
	id, body, err := parse(sealed)
	if err != nil {
		return nil, err
	}
	aead, ok := kr.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w: sealed with key id %q, which the keyring does not hold (give it as an old key)", hubsync.ErrUnseal, id)
	}
	head := sealed[:len(sealed)-len(body)]
	plain, err := aead.Open(nil, nil, body, additional(head, aad))
	if err != nil {
		return nil, fmt.Errorf("%w: the value sealed with key id %q does not authenticate (changed, or sealed for another school or field)", hubsync.ErrUnseal, id)
	}
	return plain, nil
}

// KeyID returns the id of the key a value was sealed with, read from its envelope without opening
// it; an error wrapping hubsync.ErrUnseal when sealed is not an envelope of this package.
func KeyID(sealed []byte) (string, error) {
	id, _, err := parse(sealed)
	return id, err
}

func header(id string) []byte {
	h := make([]byte, 0, 2+len(id)+nonceSize+tagSize+64)
	return append(append(h, version, byte(len(id))), id...)
}

// additional is what GCM authenticates besides the ciphertext: the envelope header, then aad.
func additional(head, aad []byte) []byte {
	return append(append(make([]byte, 0, len(head)+len(aad)), head...), aad...)
}

// parse splits an envelope into its key id and the nonce, ciphertext and tag that follow.
func parse(sealed []byte) (id string, body []byte, err error) {
	if len(sealed) < minEnvelope {
		return "", nil, fmt.Errorf("%w: the sealed value is %d bytes, shorter than any envelope", hubsync.ErrUnseal, len(sealed))
	}
	if sealed[0] != version {
		return "", nil, fmt.Errorf("%w: unknown envelope version %d (this build reads %d)", hubsync.ErrUnseal, sealed[0], version)
	}
	n := int(sealed[1])
	if n == 0 || n > maxIDLen || len(sealed) < 2+n+nonceSize+tagSize {
		return "", nil, fmt.Errorf("%w: the envelope's key id length %d does not fit", hubsync.ErrUnseal, n)
	}
	id = string(sealed[2 : 2+n])
	if err := checkID(id); err != nil {
		return "", nil, fmt.Errorf("%w: the envelope's key id is malformed", hubsync.ErrUnseal)
	}
	return id, sealed[2+n:], nil
}
