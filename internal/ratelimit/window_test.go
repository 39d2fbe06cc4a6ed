package ratelimit

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync/clock"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// simRequest is one request of the simulation: admitted at sent, counted by the server at
// counted (anywhere between sending and the answer: the network decides), answered at answered.
type simRequest struct{ sent, counted, answered time.Time }

// simulate drives a Window on a fake clock, without goroutines, with more callers than slots
// (so one always waits: the Window is backlogged throughout), each request answered after a
// random latency in [minLat, maxLat] and counted by the server at a random point of its trip.
// The server's answer to each request reports what its rolling window has left. It runs until
// the clock passes end.
func simulate(t *testing.T, w *Window, clk *clock.Fake, callers int, minLat, maxLat time.Duration, end time.Time, seed uint64) []simRequest {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	n, per := w.Limit()
	type flight struct {
		slot *Slot
		i    int // index in reqs
	}
	var (
		reqs    []simRequest
		flights []flight
		counted []time.Time // ascending server count times, for the answers' remaining
		waiting = callers
	)
	upTo := func(at time.Time) int { // how many were counted at or before at
		i, _ := slices.BinarySearchFunc(counted, at, func(c, at time.Time) int {
			if c.After(at) {
				return 1
			}
			return -1
		})
		return i
	}
	remaining := func(at time.Time) int { return max(n-(upTo(at)-upTo(at.Add(-per))), 0) }
	for clk.Now().Before(end) {
		// Admit every waiting caller the Window lets through now.
		next, nextOK := time.Time{}, false
		for waiting > 0 {
			s, at, ok, _ := w.try()
			if s == nil {
				next, nextOK = at, ok
				break
			}
			waiting--
			now := clk.Now()
			lat := minLat + time.Duration(rng.Int64N(int64(maxLat-minLat)+1))
			r := simRequest{sent: now, counted: now.Add(time.Duration(rng.Int64N(int64(lat) + 1))), answered: now.Add(lat)}
			reqs = append(reqs, r)
			flights = append(flights, flight{s, len(reqs) - 1})
		}
		// The next event: an answer, or the Window's next admission.
		var ev time.Time
		for _, f := range flights {
			if a := reqs[f.i].answered; ev.IsZero() || a.Before(ev) {
				ev = a
			}
		}
		if waiting > 0 && nextOK && (ev.IsZero() || next.Before(ev)) {
			ev = next
		}
		if ev.IsZero() {
			t.Fatalf("at %v: nothing in flight and no admission ahead", clk.Now().Sub(t0))
		}
		if ev.After(clk.Now()) {
			clk.Set(ev)
		}
		// Answers due now, the server counting each request on its way.
		for i := 0; i < len(flights); {
			f := flights[i]
			r := reqs[f.i]
			if r.answered.After(clk.Now()) {
				i++
				continue
			}
			j, _ := slices.BinarySearchFunc(counted, r.counted, func(a, b time.Time) int { return a.Compare(b) })
			counted = slices.Insert(counted, j, r.counted)
			f.slot.Done(remaining(r.counted))
			flights = slices.Delete(flights, i, i+1)
			waiting++
		}
	}
	return reqs
}

// maxCounted returns the most requests the server counted in one rolling window (t-per, t].
func maxCounted(reqs []simRequest, per time.Duration) int {
	ts := make([]time.Time, len(reqs))
	for i, r := range reqs {
		ts[i] = r.counted
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	most, lo := 0, 0
	for hi := range ts {
		for !ts[lo].After(ts[hi].Add(-per)) {
			lo++
		}
		most = max(most, hi-lo+1)
	}
	return most
}

// fewestSent returns the fewest requests sent in a span (a, a+span] after any request's sending
// time a, over the sending times before last-span (so every span measured ends inside the run).
func fewestSent(reqs []simRequest, span time.Duration, last time.Time) int {
	fewest, hi := -1, 0 // reqs are in sending order
	for i, r := range reqs {
		if !r.sent.Add(span).Before(last) {
			break
		}
		for hi < len(reqs) && !reqs[hi].sent.After(r.sent.Add(span)) {
			hi++
		}
		lo := i + 1
		for lo < hi && !reqs[lo].sent.After(r.sent) { // sent in the same instant as r
			lo++
		}
		if k := hi - lo; fewest < 0 || k < fewest {
			fewest = k
		}
	}
	return fewest
}

// TestWindowPacing is the Window's promise, over 30 windows of HubSpot's limit with answers
// taking 1 to 400 ms and counted by the server anywhere on their way:
//   - over any rolling window of length per, the server never counts more than n;
//   - while backlogged, every span of per + the longest latency + Skew sees at least n sent;
//   - so the share of the limit used over the run is at least per / (per + 400 ms + Skew).
func TestWindowPacing(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name           string
		n              int
		per            time.Duration
		minLat, maxLat time.Duration
	}{
		{"hubspot", 110, 10 * time.Second, time.Millisecond, 400 * time.Millisecond},
		{"hubspot, even latency", 110, 10 * time.Second, 100 * time.Millisecond, 100 * time.Millisecond},
		{"scaled x10", 110, time.Second, time.Millisecond, 20 * time.Millisecond},
		{"search", 5, time.Second, time.Millisecond, 300 * time.Millisecond},
		{"one", 1, time.Second, time.Millisecond, 50 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for seed := range uint64(3) {
				clk := clock.NewFake(t0)
				w := NewWindow(clk, tt.n, tt.per)
				const windows = 30
				end := t0.Add(windows * tt.per)
				reqs := simulate(t, w, clk, tt.n+1, tt.minLat, tt.maxLat, end, seed)
				if got := maxCounted(reqs, tt.per); got > tt.n {
					t.Fatalf("seed %d: the server counted %d requests in one window of %v, limit %d", seed, got, tt.per, tt.n)
				}
				span := tt.per + tt.maxLat + Skew(tt.per)
				if got := fewestSent(reqs, span, clk.Now()); got < tt.n {
					t.Fatalf("seed %d: only %d requests sent in a span of %v while backlogged, want at least %d", seed, got, span, tt.n)
				}
				sent := 0
				for _, r := range reqs {
					if r.sent.Before(end) {
						sent++
					}
				}
				ratio := float64(sent) / float64(windows*tt.n)
				floor := float64(tt.per) / float64(span)
				if ratio < floor-1/float64(windows) { // the last window may be cut short
					t.Fatalf("seed %d: %d sent in %d windows, ratio %.4f, want at least %.4f", seed, sent, windows, ratio, floor)
				}
				if ratio > 1 {
					t.Fatalf("seed %d: ratio %.4f above the limit", seed, ratio)
				}
			}
		})
	}
}

// TestWindowProbeAdoptsRemaining: a fresh Window sends one request alone; when its answer says
// the server's window has 2 left, only 2 more go before the window moves on.
func TestWindowProbeAdoptsRemaining(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(t0)
	w := NewWindow(clk, 100, time.Second) // spaced 10 ms apart
	probe, _, _, _ := w.try()
	if probe == nil {
		t.Fatal("the first request must go at once")
	}
	if s, _, ok, _ := w.try(); s != nil || ok {
		t.Fatalf("a second request went (or got a time) while the probe was out: %v, %v", s != nil, ok)
	}
	clk.Advance(30 * time.Millisecond)
	answered := clk.Now()
	probe.Done(2) // somebody else spent 97 of the 100
	for i := range 2 {
		clk.Advance(10 * time.Millisecond)
		if s, _, _, _ := w.try(); s == nil {
			t.Fatalf("request %d of the 2 left did not go", i+1)
		} else {
			s.Done(-1)
		}
	}
	s, at, ok, _ := w.try()
	if s != nil || !ok {
		t.Fatalf("a 101st request in the window went (%v) or got no time (%v)", s != nil, ok)
	}
	if want := answered.Add(time.Second + Skew(time.Second)); !at.Equal(want) {
		t.Fatalf("next admission at %v, want %v (the probe's answer + per + Skew)", at.Sub(t0), want.Sub(t0))
	}
}

// TestWindowUnknownRemaining: an answer without the header leaves the budget whole; beyond
// SmoothBurst, requests are spaced per/n apart.
func TestWindowUnknownRemaining(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(t0)
	const n, per = 50, time.Second
	w := NewWindow(clk, n, per)
	p, _, _, _ := w.try()
	p.Done(-1)
	for i := range SmoothBurst(n) - 1 {
		if s, _, _, _ := w.try(); s == nil {
			t.Fatalf("request %d of the first %d did not go", i+2, SmoothBurst(n))
		}
	}
	s, at, ok, _ := w.try()
	if s != nil || !ok {
		t.Fatalf("a request beyond the smoothing burst went (%v) or got no time (%v)", s != nil, ok)
	}
	if want := t0.Add(per / n); at.Before(want.Add(-time.Microsecond)) || at.After(want.Add(time.Millisecond)) {
		t.Fatalf("next admission at %v, want about %v (per/n)", at.Sub(t0), want.Sub(t0))
	}
}

// TestWindowPause: nothing goes before the pause ends, and the first request after it probes.
func TestWindowPause(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(t0)
	w := NewWindow(clk, 5, time.Second)
	p, _, _, _ := w.try()
	p.Done(4)
	until := t0.Add(3 * time.Second)
	w.PauseUntil(until)
	w.PauseUntil(t0.Add(time.Second)) // earlier: ignored
	if got := w.PausedUntil(); !got.Equal(until) {
		t.Fatalf("PausedUntil = %v, want %v", got.Sub(t0), until.Sub(t0))
	}
	s, at, ok, _ := w.try()
	if s != nil || !ok || !at.Equal(until) {
		t.Fatalf("during the pause: slot %v, next %v (ok %v), want none until %v", s != nil, at.Sub(t0), ok, until.Sub(t0))
	}
	clk.Set(until)
	probe, _, _, _ := w.try()
	if probe == nil {
		t.Fatal("no request after the pause")
	}
	if s, _, _, _ := w.try(); s != nil {
		t.Fatal("a second request went beside the probe after a pause")
	}
	probe.Cancel() // never sent: the next request probes instead
	if s, _, _, _ := w.try(); s == nil {
		t.Fatal("no request after the probe was given back")
	}
}

// TestWindowCancelGivesBack: a cancelled slot was never sent and holds nothing (neither its
// window slot nor its smoothing token); Done and Cancel after the first call are no-ops.
func TestWindowCancelGivesBack(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(t0)
	const n = 20 // spaced 50 ms apart beyond the burst
	w := NewWindow(clk, n, time.Second)
	p, _, _, _ := w.try()
	p.Done(-1)
	p.Done(-1)
	for i := range SmoothBurst(n) - 1 {
		s, _, _, _ := w.try()
		if s == nil {
			t.Fatalf("request %d of the first %d did not go", i+2, SmoothBurst(n))
		}
		s.Done(-1)
	}
	clk.Advance(50 * time.Millisecond)
	a, _, _, _ := w.try()
	if a == nil {
		t.Fatal("a request did not go 50 ms after the burst")
	}
	a.Cancel()
	a.Done(-1)
	a.Cancel()
	if s, _, _, _ := w.try(); s == nil {
		t.Fatal("the cancelled slot was not given back")
	}
	if s, _, _, _ := w.try(); s != nil {
		t.Fatal("a request went less than 50 ms after the last")
	}
}

// TestWindowSetLimit: a smaller limit from the server's headers holds at once; bad input is
// normalized as New does.
func TestWindowSetLimit(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(t0)
	w := NewWindow(clk, 0, 0)
	if n, per := w.Limit(); n != 1 || per != DefaultPer {
		t.Fatalf("NewWindow(0, 0).Limit() = %d/%v, want 1/%v", n, per, DefaultPer)
	}
	w.SetLimit(10, 48*time.Hour)
	if n, per := w.Limit(); n != 10 || per != MaxPer {
		t.Fatalf("Limit() = %d/%v, want 10/%v", n, per, MaxPer)
	}
	w.SetLimit(30, time.Second) // spaced per/30 apart beyond the burst
	clk.Advance(time.Second)
	for i := range SmoothBurst(30) {
		s, _, _, _ := w.try()
		if s == nil {
			t.Fatalf("request %d of the first %d did not go under the new limit", i+1, SmoothBurst(30))
		}
		s.Done(-1)
	}
	s, at, ok, _ := w.try()
	if s != nil || !ok {
		t.Fatalf("a request beyond the burst went (%v) or got no time (%v) under a limit of 30 per second", s != nil, ok)
	}
	if want := clk.Now().Add(time.Second / 30); at.Before(want.Add(-time.Microsecond)) || at.After(want.Add(time.Millisecond)) {
		t.Fatalf("next admission at %v, want about %v (per/30 under the new limit)", at.Sub(t0), want.Sub(t0))
	}
}

// TestWindowAcquireBlocks drives Acquire itself (goroutines on a fake clock): the callers get
// through at the Window's times, never more than n in a window, and a cancelled context ends a
// wait.
func TestWindowAcquireBlocks(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(t0)
	const n, per, callers, each = 5, time.Second, 3, 10
	w := NewWindow(clk, n, per)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var (
		mu    sync.Mutex
		times []time.Time
	)
	done := make(chan error, callers)
	for range callers {
		go func() {
			for range each {
				s, err := w.Acquire(ctx)
				if err != nil {
					done <- err
					return
				}
				mu.Lock()
				times = append(times, clk.Now())
				mu.Unlock()
				s.Done(-1) // answered at once
			}
			done <- nil
		}()
	}
	for active := callers; active > 0; {
		bctx, bcancel := context.WithCancel(ctx)
		blocked := make(chan struct{})
		go func(n int) { // every live caller waits in Acquire: the first in the queue on a timer
			for clk.BlockUntil(bctx, 1) == nil {
				w.mu.Lock()
				q := len(w.queue)
				w.mu.Unlock()
				if q == n {
					close(blocked)
					return
				}
				runtime.Gosched()
			}
		}(active)
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Acquire: %v", err)
			}
			active--
		case <-blocked:
			clk.AdvanceToNext()
		case <-ctx.Done():
			t.Fatal("timed out")
		}
		bcancel()
	}
	reqs := make([]simRequest, len(times))
	for i, at := range times {
		reqs[i] = simRequest{sent: at, counted: at, answered: at}
	}
	if got := maxCounted(reqs, per); got > n {
		t.Fatalf("%d requests in one window, limit %d", got, n)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	// 30 requests of 5 per window: the 30th goes after 5 windows (plus Skew each), within 6.
	if got, least := times[len(times)-1].Sub(t0), 5*(per+Skew(per)); got < least || got >= 6*per {
		t.Fatalf("the last of %d requests went at %v, want from %v to under %v", len(times), got, least, 6*per)
	}

	// A wait ends with its context.
	cctx, ccancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := w.Acquire(cctx)
		errc <- err
	}()
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	ccancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire after cancel = %v, want context.Canceled", err)
	}
}

// TestWindowAcquireIsFIFO: callers waiting in Acquire get slots in the order they started
// waiting, and a caller that arrives while others wait queues behind them even when a slot is
// free at that instant. A waiter whose context ends leaves the queue without holding up the next.
func TestWindowAcquireIsFIFO(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(t0)
	const per, callers = time.Second, 12
	w := NewWindow(clk, 1, per) // one slot: the admissions are strictly ordered
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	queued := func(k int) { // waits until k callers are in the queue
		for {
			w.mu.Lock()
			got := len(w.queue)
			w.mu.Unlock()
			if got == k {
				return
			}
			if ctx.Err() != nil {
				t.Fatalf("%d callers queued, want %d", got, k)
			}
			runtime.Gosched()
		}
	}
	held, _, _, _ := w.try()
	if held == nil {
		t.Fatal("the first request did not go")
	}
	type grant struct {
		id   int
		slot *Slot
	}
	granted := make(chan grant, callers)
	leaver, leave := context.WithCancel(ctx)
	for id := range callers {
		cctx := ctx
		if id == 3 {
			cctx = leaver // gives up while waiting
		}
		go func() {
			s, err := w.Acquire(cctx)
			if err != nil {
				return
			}
			granted <- grant{id, s}
		}()
		queued(id + 1) // the next caller starts only once this one waits
	}
	leave()
	queued(callers - 1)
	held.Done(-1)
	for want := range callers {
		if want == 3 {
			continue
		}
		if err := clk.BlockUntil(ctx, 1); err != nil { // the first in the queue waits for its time
			t.Fatal(err)
		}
		clk.AdvanceToNext()
		select {
		case g := <-granted:
			if g.id != want {
				t.Fatalf("caller %d got the slot, want caller %d (the longest waiting)", g.id, want)
			}
			g.slot.Done(-1)
		case <-ctx.Done():
			t.Fatalf("caller %d got no slot", want)
		}
	}
}
