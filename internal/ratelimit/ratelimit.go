// Package ratelimit holds the request limiter hubsync's API clients use, [Window] (window.go): a
// sliding-window log that keeps a server's rolling-window rule exactly, each request's slot held
// until the window has passed since its answer. The HubSpot client paces each of its lanes with
// one, the LearnWorlds client its school's budget. It waits on an injected [clock.Clock], so
// tests drive it with a fake clock and never sleep.
package ratelimit

import "time"

// DefaultPer is the window NewWindow and SetLimit use when they are given a window of zero or
// less.
const DefaultPer = time.Second

// MaxPer is the longest window NewWindow and SetLimit accept; a longer one is taken as MaxPer. It
// is the longest any API hubsync talks to counts in (HubSpot's daily limit). Without it a window
// read from a server's header could overflow the time arithmetic (292 years is a valid
// time.Duration).
const MaxPer = 24 * time.Hour

// normalize applies NewWindow's documented treatment of bad input: a misconfigured limiter is
// slow (one request a second) rather than absent.
func normalize(n int, per time.Duration) (int, time.Duration) {
	if n < 1 {
		n = 1
	}
	if per <= 0 {
		per = DefaultPer
	}
	return n, min(per, MaxPer)
}
