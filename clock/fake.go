package clock

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Fake is a Clock whose time moves only when the test says so. The zero value is not usable; call
// [NewFake]. All methods are safe for concurrent use.
//
// A test that waits for a goroutine to block on a timer uses [Fake.BlockUntil] (or
// [Fake.WaitForTimers]) before it calls [Fake.Advance], so it never needs a real sleep.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	changed chan struct{} // closed and replaced whenever the set of timers changes
}

// NewFake returns a Fake clock set to start. A zero start means 2026-01-01T00:00:00Z, so tests
// are reproducible.
func NewFake(start time.Time) *Fake {
	if start.IsZero() {
		start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return &Fake{now: start, changed: make(chan struct{})}
}

// Now returns the fake's current time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer returns a timer that fires when the fake's time reaches Now()+d. A d of zero or less
// fires at once.
func (f *Fake) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.arm(t, d)
	return t
}

// Advance moves time forward by d and fires, in order of their deadlines, every timer that falls
// due. Each timer's channel receives the time it was due at.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setLocked(f.now.Add(d))
}

// Set moves time to t (never backwards: an earlier t is ignored) and fires due timers.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.After(f.now) {
		f.setLocked(t)
	}
}

// Timers returns how many timers are waiting to fire.
func (f *Fake) Timers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// NextDeadline returns the earliest deadline of a waiting timer, and false when none waits.
func (f *Fake) NextDeadline() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.timers) == 0 {
		return time.Time{}, false
	}
	return f.timers[0].when, true
}

// AdvanceToNext moves time to the earliest waiting timer's deadline and fires it (and any other
// timer due then). It reports false, moving nothing, when no timer waits.
func (f *Fake) AdvanceToNext() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.timers) == 0 {
		return false
	}
	if w := f.timers[0].when; w.After(f.now) {
		f.setLocked(w)
	} else {
		f.setLocked(f.now)
	}
	return true
}

// BlockUntil waits until at least n timers are waiting, or ctx ends (returning ctx.Err()).
func (f *Fake) BlockUntil(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		if len(f.timers) >= n {
			f.mu.Unlock()
			return nil
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

func (f *Fake) setLocked(t time.Time) {
	f.now = t
	fired := false
	for len(f.timers) > 0 && !f.timers[0].when.After(t) {
		tm := f.timers[0]
		f.timers = f.timers[1:]
		tm.active = false
		select {
		case tm.c <- tm.when:
		default:
		}
		fired = true
	}
	if fired {
		f.notifyLocked()
	}
}

func (f *Fake) arm(t *fakeTimer, d time.Duration) {
	t.when = f.now.Add(d)
	if d <= 0 {
		t.active = false
		select {
		case t.c <- f.now:
		default:
		}
		return
	}
	t.active = true
	f.timers = append(f.timers, t)
	sort.SliceStable(f.timers, func(i, j int) bool { return f.timers[i].when.Before(f.timers[j].when) })
	f.notifyLocked()
}

func (f *Fake) removeLocked(t *fakeTimer) bool {
	if !t.active {
		return false
	}
	for i, x := range f.timers {
		if x == t {
			f.timers = append(f.timers[:i], f.timers[i+1:]...)
			break
		}
	}
	t.active = false
	f.notifyLocked()
	return true
}

func (f *Fake) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

type fakeTimer struct {
	f      *Fake
	c      chan time.Time
	when   time.Time
	active bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	return t.f.removeLocked(t)
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.f.removeLocked(t)
	// Drain a stale value so the next receive sees the new deadline, as time.Timer does since Go 1.23.
	select {
	case <-t.c:
	default:
	}
	t.f.arm(t, d)
	return was
}
