package ratelimit

import (
	"context"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/hubsync/hubsync/clock"
)

// Window is a sliding-window-log limiter for a server that counts requests in rolling (or fixed)
// windows of length per and refuses the n+1th: HubSpot's burst limit of 110 requests per 10 s
// ("TEN_SECONDLY_ROLLING"), and LearnWorlds' 30 per 10 s. It keeps the server's own rule, with
// no guess about the network:
//
//   - every admitted request holds a slot from its admission until per + [Skew] after its answer
//     arrived (or its transport failed): the server counted it at some time between the two, so
//     the slot is free again only once the server's window has surely moved past it;
//   - at most n slots are held at once.
//
// So over any window of length per on the server's clock, the server counts at most n requests
// from one Window, however unevenly they travel (a request delayed by any amount holds its slot
// for longer, never shorter). A fixed window is a rolling window too, so the promise holds for
// fixed-window counting as well.
//
// And while callers are backlogged (one always waits in Acquire), every slot is taken again as
// soon as it is free: each slot carries a request every per + latency + Skew, so at least n
// requests start in any span of per + L + Skew, where L is the longest answer time; the share
// of the limit used is at least per / (per + L + Skew). With HubSpot's 10 s window and answers
// within 100 ms that is above 0.988; against a fake on the loopback (L of a few milliseconds) it
// is above 0.998. Beyond a burst of [SmoothBurst] (2), requests are also spaced per/n apart:
// that pace is faster than the window rule's, so it never lowers the share while backlogged, but
// a caller with little work per request no longer spends the whole window in an instant and then
// waits most of a window. Callers waiting in [Window.Acquire] are served first come, first
// served.
//
// What the Window does not know is what others spent from the same budget (another process on
// the same portal, or this process before a restart). After [NewWindow] and after every pause it
// admits one request alone (a probe) and, when its answer says how many requests the server's
// window has left ([Slot.Done] with remaining >= 0: HubSpot's X-HubSpot-RateLimit-Remaining),
// holds the slots the server reports used as if they had been spent at that answer's arrival.
//
// The zero value is not usable; call [NewWindow]. All methods are safe for concurrent use.
type Window struct {
	clk clock.Clock

	mu       sync.Mutex
	n        int
	per      time.Duration
	keepPer  time.Duration // the longest window ever in force: how long an answer is remembered
	keepN    int           // the largest count ever in force: how many answers are remembered
	done     []time.Time   // arrival times of answers (and phantoms), ascending
	inflight int           // slots admitted and not yet Done or Cancelled
	paused   time.Time
	cold     bool // nothing heard from the server since the start or the last pause
	probing  bool // the cold period's probe is out
	gen      int  // counts pauses, so a probe from before one cannot end the cold period after it
	changed  chan struct{}
	smooth   *rate.Limiter // n per per, burst SmoothBurst(n): spreads bursts of small requests
	queue    []uint64      // tickets of the Acquire calls waiting, in arrival order: only the first may be admitted
	tickets  uint64        // the last ticket given out
}

// Slot is one admitted request. Call exactly one of [Slot.Done] (the request was sent, whatever
// came of it) and [Slot.Cancel] (it was never sent); later calls are no-ops, and so are calls on
// a nil *Slot.
type Slot struct {
	w        *Window
	probe    bool
	gen      int
	token    *rate.Reservation // the smoothing token, given back by Cancel
	finished bool              // guarded by w.mu
}

// Skew is the safety margin a slot is held beyond the window: per/1000 (twice the 500 ppm an NTP
// client may slew a clock by, so the server's window can be a little shorter on our clock) plus
// 1 ms (a server that timestamps to the millisecond). 11 ms of HubSpot's 10 s window.
func Skew(per time.Duration) time.Duration { return per/1000 + time.Millisecond }

// NewWindow returns a limiter that keeps a server counting at most n requests in any window of
// length per from counting more, with New's treatment of bad input (n < 1 is 1, per <= 0 is
// [DefaultPer], per > [MaxPer] is MaxPer). A nil clk means [clock.Real].
func NewWindow(clk clock.Clock, n int, per time.Duration) *Window {
	n, per = normalize(n, per)
	return &Window{clk: clock.Or(clk), n: n, per: per, keepPer: per, keepN: n, cold: true, changed: make(chan struct{}),
		smooth: rate.NewLimiter(smoothRate(n, per), SmoothBurst(n))}
}

// SmoothBurst is how many requests a Window lets go at once: 2. Beyond it requests are also
// spaced per/n apart. The window rule alone would let a caller with little work each time (one
// change a batch) spend the whole window's n in an instant and then wait most of a window;
// spaced, its batches fill while it waits a little, as at HubSpot's pace. The spacing never
// lowers a backlogged Window's share of the limit: its pace, n per per, is faster than the n per
// per + latency + Skew the window rule allows, so after the first window the rule binds. A burst
// of 2 rather than 1 matters there: when slots free up together (answers that arrived together
// a window ago), a bucket of one token delays the second by per/n, and those delays add up to a
// few percent of the window (HubSpot's BatchUpsertRate over a 1 s window: 0.945 of the limit
// with 1, 0.995 with 2). It never lets more than n into a window: the slots alone keep that.
func SmoothBurst(int) int { return 2 }

func smoothRate(n int, per time.Duration) rate.Limit {
	return rate.Limit(float64(n) / per.Seconds())
}

// broadcastLocked wakes every Acquire waiting for a change.
func (w *Window) broadcastLocked() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// nextLocked returns the earliest time at or after now a new slot may be admitted, or ok false
// when none may be until something changes (every slot in flight, or the probe out).
func (w *Window) nextLocked(now time.Time) (at time.Time, ok bool) {
	// Forget answers no window can hold any more, and all but the newest keepN (no count check
	// looks further back).
	keep := w.keepPer + Skew(w.keepPer)
	i := 0
	for i < len(w.done) && !w.done[i].Add(keep).After(now) {
		i++
	}
	if extra := len(w.done) - i - w.keepN; extra > 0 {
		i += extra
	}
	if i > 0 {
		w.done = slices.Delete(w.done, 0, i)
	}
	if w.cold && w.probing {
		return time.Time{}, false
	}
	free := w.n - 1 - w.inflight // answers that may still be in the window when one more goes
	if free < 0 {
		return time.Time{}, false
	}
	at = now
	if w.paused.After(at) {
		at = w.paused
	}
	if k := len(w.done) - free; k > 0 {
		// The k oldest answers must have left the window: the kth frees its slot last.
		at = later(at, w.done[k-1].Add(w.per+Skew(w.per)))
	}
	if tokens := w.smooth.TokensAt(at); tokens < 1 {
		at = at.Add(time.Duration((1 - tokens) / float64(w.smooth.Limit()) * float64(time.Second)))
	}
	return at, true
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Acquire waits until one more request may be sent, and returns its slot; or returns ctx.Err()
// when ctx ends first. It never returns a slot before a time set by [Window.PauseUntil].
// Waiters are served in arrival order: a call that started waiting first gets the next slot, so
// no caller waits behind callers that came after it (a live change's batch is not starved by
// the backlog's).
func (w *Window) Acquire(ctx context.Context) (*Slot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	me := w.enqueue()
	for {
		s, at, ok, changed := w.tryFor(me)
		if s != nil {
			return s, nil
		}
		if !ok {
			select {
			case <-ctx.Done():
				w.leave(me)
				return nil, ctx.Err()
			case <-changed:
			}
			continue
		}
		tm := w.clk.NewTimer(at.Sub(w.clk.Now()))
		select {
		case <-ctx.Done():
			tm.Stop()
			w.leave(me)
			return nil, ctx.Err()
		case <-changed:
		case <-tm.C():
		}
		tm.Stop()
	}
}

// enqueue puts a new waiter at the end of the queue and returns its ticket (never 0).
func (w *Window) enqueue() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tickets++
	w.queue = append(w.queue, w.tickets)
	return w.tickets
}

// leave takes a waiter whose context ended out of the queue, waking the next one if it was first.
func (w *Window) leave(me uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if i := slices.Index(w.queue, me); i >= 0 {
		w.queue = slices.Delete(w.queue, i, i+1)
		if i == 0 {
			w.broadcastLocked()
		}
	}
}

// try admits a slot now if one is free and nobody waits in Acquire. Otherwise it returns when one
// may be (ok false: not until something changes) and the channel closed on the next change.
func (w *Window) try() (s *Slot, at time.Time, ok bool, changed <-chan struct{}) {
	return w.tryFor(0)
}

// tryFor is try for the waiter holding ticket me (0: a caller not queued, admitted only when the
// queue is empty). A waiter behind another is not admitted and waits for a change (ok false).
func (w *Window) tryFor(me uint64) (s *Slot, at time.Time, ok bool, changed <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) > 0 && w.queue[0] != me {
		return nil, time.Time{}, false, w.changed
	}
	now := w.clk.Now()
	at, ok = w.nextLocked(now)
	if ok && !at.After(now) {
		w.inflight++
		s = &Slot{w: w, gen: w.gen, token: w.smooth.ReserveN(now, 1)}
		if w.cold {
			w.probing, s.probe = true, true
		}
		if me != 0 {
			w.queue = w.queue[1:]
			if len(w.queue) > 0 {
				w.broadcastLocked() // the next waiter is first now
			}
		}
		return s, at, true, nil
	}
	return nil, at, ok, w.changed
}

// Done tells the Window the slot's request was sent and its answer has arrived, or its transport
// failed, now: the slot stays held until per + Skew from now. remaining is what the answer said
// is left of the server's window (X-HubSpot-RateLimit-Remaining), or -1 when it did not say.
// Only a probe's remaining is used: when it is known, the n-1-remaining requests the server
// counted besides the probe are taken as spent now; when it is not, the Window assumes nobody
// else spends its budget.
func (s *Slot) Done(remaining int) {
	if s == nil {
		return
	}
	w := s.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if s.finished {
		return
	}
	s.finished = true
	w.inflight--
	now := w.clk.Now()
	k := 1
	if s.probe && s.gen == w.gen && w.probing {
		w.cold, w.probing = false, false
		if remaining >= 0 {
			k += min(max(w.n-1-remaining, 0), w.n-1)
		}
	}
	// Keep done ascending even if the clock stepped back.
	i := len(w.done)
	for i > 0 && w.done[i-1].After(now) {
		i--
	}
	w.done = slices.Insert(w.done, i, slices.Repeat([]time.Time{now}, k)...)
	w.broadcastLocked()
}

// Cancel gives the slot back: its request was never sent (building it, or getting a token,
// failed).
func (s *Slot) Cancel() {
	if s == nil {
		return
	}
	w := s.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if s.finished {
		return
	}
	s.finished = true
	w.inflight--
	s.token.CancelAt(w.clk.Now())
	if s.probe && s.gen == w.gen && w.probing {
		w.probing = false // the next request probes instead
	}
	w.broadcastLocked()
}

// SetLimit changes the limit to at most n requests in any window of length per, with New's
// treatment of bad input. It is a no-op when the limit is unchanged, so a client may call it with
// the X-HubSpot-RateLimit-Max and -Interval-Milliseconds headers of every answer.
func (w *Window) SetLimit(n int, per time.Duration) {
	n, per = normalize(n, per)
	w.mu.Lock()
	defer w.mu.Unlock()
	if n == w.n && per == w.per {
		return
	}
	w.n, w.per = n, per
	w.keepPer, w.keepN = max(w.keepPer, per), max(w.keepN, n)
	now := w.clk.Now()
	w.smooth.SetLimitAt(now, smoothRate(n, per))
	w.smooth.SetBurstAt(now, SmoothBurst(n))
	w.broadcastLocked()
}

// Limit returns the limit in force: at most n requests in any window of length per.
func (w *Window) Limit() (n int, per time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n, w.per
}

// PauseUntil makes every Acquire, current and future, return no earlier than t (unless its
// context ends), and makes the first request after it a probe again. Clients call it after a 429
// with the time the server's window reopens. An earlier t than a pause already in force is
// ignored.
func (w *Window) PauseUntil(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t.After(w.paused) {
		w.paused = t
		w.cold, w.probing = true, false
		w.gen++
		w.broadcastLocked()
	}
}

// PausedUntil returns the end of the pause in force, or the zero time when there never was one.
func (w *Window) PausedUntil() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.paused
}
