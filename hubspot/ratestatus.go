package hubspot

import (
	"sync"
	"time"
)

// RateLimitStatus is what HubSpot last said about the portal's burst limit, from the
// X-HubSpot-RateLimit-* headers of a response (search responses carry none).
type RateLimitStatus struct {
	Max       int           // requests allowed per Interval
	Remaining int           // requests left in the current window; -1 when the header was missing
	Interval  time.Duration // the rolling window
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
