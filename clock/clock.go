// Package clock is the time source every hubsync component takes by injection.
//
// Production code uses [Real]; tests use [Fake], whose [Fake.Advance] moves time forward and fires
// every timer that falls due, so no test ever sleeps. The interface is deliberately small (the
// shape of tailscale's tstime.Clock): Now and NewTimer are enough to build timeouts, tickers,
// rate-limit waits and backoff on top.
package clock

import (
	"context"
	"time"
)

// Clock tells the time and makes timers. A nil Clock in any hubsync Config or option means [Real].
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that sends the time on its channel once d has passed.
	NewTimer(d time.Duration) Timer
}

// Timer is the subset of *time.Timer that hubsync uses, as an interface so a fake can implement it.
type Timer interface {
	// C is the channel the timer fires on. It has a buffer of one, as in the standard library.
	C() <-chan time.Time
	// Stop prevents the timer from firing. It reports whether the call stopped the timer.
	Stop() bool
	// Reset changes the timer to fire after d. It reports whether the timer had been active.
	Reset(d time.Duration) bool
}

// Real returns the Clock backed by the time package.
func Real() Clock { return realClock{} }

// Or returns c, or [Real] when c is nil. Constructors use it to apply the nil default.
func Or(c Clock) Clock {
	if c == nil {
		return Real()
	}
	return c
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }

// Sleep waits for d on c, or until ctx ends, whichever is first. It returns ctx.Err() when ctx
// ended first and nil otherwise. A d of zero or less returns at once (after checking ctx).
func Sleep(ctx context.Context, c Clock, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	t := Or(c).NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}
