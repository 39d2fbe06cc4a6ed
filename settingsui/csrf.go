package settingsui

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
)

// csrfField is the hidden form field carrying the CSRF token (the progress script sends it as the
// X-CSRF-Token header instead).
const csrfField = "csrf_token"

// token returns a CSRF token for admin: its expiry and an HMAC of the admin, the school and the
// expiry under the handler's secret. A token is only good for the admin and school it was made
// for, until it expires; no server-side state is kept.
func (h *Handler) token(a Admin) string {
	exp := h.clk.Now().Add(TokenTTL).Unix()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(exp))
	return base64.RawURLEncoding.EncodeToString(append(b[:], h.tokenMAC(a, exp)...))
}

func (h *Handler) tokenMAC(a Admin, exp int64) []byte {
	m := hmac.New(sha256.New, h.secret)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(exp))
	m.Write([]byte("settingsui-csrf\x00"))
	m.Write([]byte(a.ID))
	m.Write([]byte{0})
	m.Write([]byte(a.School))
	m.Write([]byte{0})
	m.Write(b[:])
	return m.Sum(nil)
}

// validToken reports whether tok is a token made for a that has not expired.
func (h *Handler) validToken(a Admin, tok string) bool {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 8+sha256.Size {
		return false
	}
	exp := int64(binary.BigEndian.Uint64(raw[:8]))
	if h.clk.Now().Unix() > exp {
		return false
	}
	return hmac.Equal(raw[8:], h.tokenMAC(a, exp))
}
