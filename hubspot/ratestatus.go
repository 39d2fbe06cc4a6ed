package hubspot

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RateLimitStatus is what HubSpot last said about the portal's burst limit, from the
// X-HubSpot-RateLimit-* headers of a response (search responses carry none).
type RateLimitStatus struct {
	Max       int           // requests allowed per Interval
	Remaining int           // requests left in the current window; -1 when the header was missing or unreadable
	Interval  time.Duration // the rolling window, at most MaxRetryAfter
	At        time.Time     // when the response arrived, on the client's clock; zero before any
}

type statusBox struct {
	mu sync.Mutex
	s  RateLimitStatus
}

func (b *statusBox) set(s RateLimitStatus) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.s = s
}

func (b *statusBox) get() RateLimitStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.s
}

// RateLimitStatus returns the rate-limit headers of the latest response that carried them, for
// progress displays; the zero value (At zero) before any.
func (c *Client) RateLimitStatus() RateLimitStatus { return c.status.get() }

// rateHeaders reads the X-HubSpot-RateLimit-Max, -Remaining and -Interval-Milliseconds headers of
// a response (At is left zero). ok is false when Max or the interval is missing, not a whole number
// or not positive: HubSpot omits the headers when it cannot gather them. The interval is read by
// headerInterval, so it is at most MaxRetryAfter; Remaining is -1 when missing, unreadable or
// negative.
func rateHeaders(h http.Header) (s RateLimitStatus, ok bool) {
	n, err := strconv.Atoi(strings.TrimSpace(h.Get("X-HubSpot-RateLimit-Max")))
	if err != nil || n <= 0 {
		return RateLimitStatus{}, false
	}
	per, ok := headerInterval(h.Get("X-HubSpot-RateLimit-Interval-Milliseconds"))
	if !ok {
		return RateLimitStatus{}, false
	}
	remaining, err := strconv.Atoi(strings.TrimSpace(h.Get("X-HubSpot-RateLimit-Remaining")))
	if err != nil || remaining < 0 {
		remaining = -1
	}
	return RateLimitStatus{Max: n, Remaining: remaining, Interval: per}, true
}

// headerInterval reads an X-HubSpot-RateLimit-Interval-Milliseconds value: a positive whole number
// of milliseconds, capped at MaxRetryAfter (a larger number, even one beyond int64, is taken as the
// cap rather than overflowing). ok is false for anything else: empty, not a whole number, zero or
// negative.
func headerInterval(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(v, "-") {
			return MaxRetryAfter, true
		}
		return 0, false
	}
	if ms <= 0 {
		return 0, false
	}
	if ms >= int64(MaxRetryAfter/time.Millisecond) {
		return MaxRetryAfter, true
	}
	return time.Duration(ms) * time.Millisecond, true
}
