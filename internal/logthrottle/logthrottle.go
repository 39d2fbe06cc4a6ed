// Package logthrottle rate-limits a log line that an outsider can trigger at will (a failed
// webhook signature, a refused admin token), so an attack is visible in the log without the log
// itself becoming the attack: at most one line per interval, the next one saying how many were
// left out meanwhile.
package logthrottle

import (
	"sync"
	"time"

	"github.com/hubsync/hubsync/clock"
)

// Every is the interval hubsync's handlers use: at most one line per kind of refusal every 10 s.
const Every = 10 * time.Second

// Throttle lets one event through per interval. The zero value is not usable; call [New]. It is
// safe for concurrent use.
type Throttle struct {
	clk   clock.Clock
	every time.Duration

	mu         sync.Mutex
	next       time.Time // the earliest time the next line may go out
	suppressed int       // events left out since the last line
}

// New returns a Throttle letting one event through every interval (Every when interval <= 0),
// timed by clk (nil means real time).
func New(clk clock.Clock, interval time.Duration) *Throttle {
	if interval <= 0 {
		interval = Every
	}
	return &Throttle{clk: clock.Or(clk), every: interval}
}

// Allow reports whether this event should be logged, and if so how many events were left out
// since the last one that was.
func (t *Throttle) Allow() (ok bool, suppressed int) {
	now := t.clk.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Before(t.next) {
		t.suppressed++
		return false, 0
	}
	t.next = now.Add(t.every)
	n := t.suppressed
	t.suppressed = 0
	return true, n
}
