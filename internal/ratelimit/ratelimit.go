// Package ratelimit holds the request limiters hubsync's API clients use, both waiting on an
// injected [clock.Clock] so tests drive them with a fake clock and never sleep:
//
//   - [Window] (window.go), a sliding-window log that keeps a server's rolling-window rule
//     exactly, slots held until the window has passed since each answer: the HubSpot client's;
//   - [Limiter], below, a token bucket over golang.org/x/time/rate that spaces requests evenly
//     with headroom for jitter: the LearnWorlds client's.
//
// [Limiter]'s promise: a server counting requests in a fixed or rolling window of length per
// never sees more than n from one [Limiter], as long as requests reach it no more unevenly than
// Headroom allows, while the limiter still admits close to n per window: the pace is the
// slower of (n-1)/per and n/(per*(1+Headroom)), with a burst of one, so throughput is above 97%
// of n/per for every n >= 34 and above 95% for every n >= 20.
package ratelimit

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/hubsync/hubsync/clock"
)

// DefaultPer is the window New and SetLimit use when they are given a window of zero or less.
const DefaultPer = time.Second

// MaxPer is the longest window New and SetLimit accept; a longer one is taken as MaxPer. It is the
// longest any API hubsync talks to counts in (HubSpot's daily limit). Without it a window read from
// a server's header could overflow the spacing arithmetic (292 years is a valid time.Duration) and
// wrap around to a negative spacing, which x/time/rate reads as no limit at all.
const MaxPer = 24 * time.Hour

// margin is added to every spacing between two admissions so float rounding inside x/time/rate can
// never place two requests closer than the spacing the window guarantee is computed from.
const margin = time.Microsecond

// Limiter admits requests at a steady pace so that no window of the configured length ever holds
// more than the configured count. The zero value is not usable; call [New]. All methods are safe
// for concurrent use.
type Limiter struct {
	clk clock.Clock
	lim *rate.Limiter

	mu     sync.Mutex
	n      int
	per    time.Duration
	paused time.Time
}

// New returns a limiter that admits at most n requests in any window of length per (so a server
// counting a fixed or rolling window never sees more than n), with a burst of one.
//
// Bad input never yields an unlimited limiter: n < 1 is treated as 1, per <= 0 as [DefaultPer] and
// per > [MaxPer] as MaxPer, so a misconfigured limiter is slow (one request a second) rather than
// absent. A nil clk means
// [clock.Real].
func New(clk clock.Clock, n int, per time.Duration) *Limiter {
	n, per = normalize(n, per)
	l := &Limiter{clk: clock.Or(clk), n: n, per: per}
	l.lim = rate.NewLimiter(rate.Every(spacing(n, per)), 1) // starts full: the first request passes at once
	return l
}

// normalize applies New's documented treatment of bad input.
func normalize(n int, per time.Duration) (int, time.Duration) {
	if n < 1 {
		n = 1
	}
	if per <= 0 {
		per = DefaultPer
	}
	return n, min(per, MaxPer)
}

// Headroom is the share of the window kept free for jitter: requests admitted on schedule reach
// the server unevenly (connection setup, scheduling), and a request delayed less than the one
// admitted n places earlier would otherwise land n+1 in one window. With Headroom the spacing is
// at least per*(1+Headroom)/n, so n admissions span more than the window by 3% of it (30 ms of a
// 1 s window, 300 ms of a 10 s one), and throughput stays above 97% of n/per.
const Headroom = 0.03

// spacing is the least time between two admissions: n-1 gaps of per/(n-1) span the whole window,
// so an n+1th request cannot fit in it, and the Headroom rule above adds room for jitter when
// that is the larger. With n == 1 the gap must exceed per itself.
func spacing(n int, per time.Duration) time.Duration {
	if n <= 1 {
		return per + time.Duration(float64(per)*Headroom) + margin
	}
	exact := per / time.Duration(n-1)
	jitter := time.Duration(float64(per) * (1 + Headroom) / float64(n))
	return max(exact, jitter) + margin
}

// Wait blocks until one request may be sent, or ctx ends. It returns ctx.Err() when ctx ended
// first (the slot it held is given back) and nil otherwise. Wait never returns nil before a time
// set by [Limiter.PauseUntil].
func (l *Limiter) Wait(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if until := l.pausedUntil(); until.After(l.clk.Now()) {
			if err := clock.Sleep(ctx, l.clk, until.Sub(l.clk.Now())); err != nil {
				return err
			}
			continue
		}
		now := l.clk.Now()
		r := l.lim.ReserveN(now, 1)
		if !r.OK() { // cannot happen with burst 1 and n >= 1; kept so a future change fails safe
			return context.DeadlineExceeded
		}
		if err := clock.Sleep(ctx, l.clk, r.DelayFrom(now)); err != nil {
			r.CancelAt(l.clk.Now())
			return err
		}
		// A 429 seen by another request while this one slept pauses everybody, this one included:
		// its slot is spent, and it queues again after the pause.
		if l.pausedUntil().After(l.clk.Now()) {
			continue
		}
		return nil
	}
}

// SetLimit changes the limit to at most n requests in any window of length per, with the same
// treatment of bad input as [New]. It is a no-op when the limit is unchanged, so a client may call
// it with the X-HubSpot-RateLimit-Max and -Interval-Milliseconds headers of every response.
func (l *Limiter) SetLimit(n int, per time.Duration) {
	n, per = normalize(n, per)
	l.mu.Lock()
	defer l.mu.Unlock()
	if n == l.n && per == l.per {
		return
	}
	l.n, l.per = n, per
	l.lim.SetLimitAt(l.clk.Now(), rate.Every(spacing(n, per)))
}

// Limit returns the limit in force: at most n requests in any window of length per.
func (l *Limiter) Limit() (n int, per time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n, l.per
}

// PauseUntil makes every Wait, current and future, return no earlier than t (unless its context
// ends). Clients call it after a 429 with the time the server's window reopens. An earlier t than
// a pause already in force is ignored.
func (l *Limiter) PauseUntil(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.paused) {
		l.paused = t
	}
}

// PausedUntil returns the end of the pause in force, or the zero time when there never was one.
func (l *Limiter) PausedUntil() time.Time { return l.pausedUntil() }

func (l *Limiter) pausedUntil() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.paused
}
