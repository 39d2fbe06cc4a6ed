// Package retryafter reads the Retry-After header (RFC 9110, section 10.2.3) for hubsync's API
// clients, within a cap each client chooses, so that no value a server or a proxy sends can
// overflow a time.Duration or ask for a longer wait than the client accepts.
package retryafter

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Parse returns the wait a Retry-After value asks for, measured from now, always within
// [0, limit]:
//
//   - delay-seconds, whole ("120") or with a decimal fraction ("1.5", which some servers send),
//     gives that many seconds; a number larger than limit, or too large for a time.Duration, gives
//     limit; a negative number gives zero;
//   - an HTTP date (IMF-fixdate, RFC 850 or asctime) gives the time from now until it, at most
//     limit; a date not after now gives zero;
//   - an empty or unreadable value gives zero, as an absent header does.
//
// A limit of zero or less gives zero for every value.
func Parse(v string, now time.Time, limit time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" || limit <= 0 {
		return 0
	}
	if d, ok := seconds(v, limit); ok {
		return d
	}
	if t, err := http.ParseTime(v); err == nil {
		if !t.After(now) {
			return 0
		}
		return min(t.Sub(now), limit) // Sub saturates instead of overflowing
	}
	return 0
}

// seconds reads an optionally signed decimal number of seconds ("120", "+5", "-3", "1.5"), capped
// at limit (limit > 0); ok is false when v is not such a number.
func seconds(v string, limit time.Duration) (time.Duration, bool) {
	neg := false
	switch v[0] {
	case '+':
		v = v[1:]
	case '-':
		neg, v = true, v[1:]
	}
	whole, frac, _ := strings.Cut(v, ".")
	if (whole == "" && frac == "") || !digits(whole) || !digits(frac) {
		return 0, false
	}
	if neg {
		return 0, true
	}
	whole = strings.TrimLeft(whole, "0")
	capSecs := int64(limit / time.Second)
	if len(whole) > 18 { // more than any int64 of seconds, and more than any time.Duration
		return limit, true
	}
	n := int64(0)
	if whole != "" {
		n, _ = strconv.ParseInt(whole, 10, 64) // at most 18 digits: cannot fail
	}
	if n > capSecs {
		return limit, true
	}
	d := time.Duration(n) * time.Second // n <= limit/time.Second: cannot overflow
	if frac != "" {
		ns := (frac + "000000000")[:9] // nanoseconds; finer digits are dropped
		f, _ := strconv.ParseInt(ns, 10, 64)
		d += time.Duration(f)
	}
	return min(d, limit), true
}

// digits reports whether s holds only ASCII digits (true for "").
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
