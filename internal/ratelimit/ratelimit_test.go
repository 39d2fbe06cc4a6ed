package ratelimit

import (
	"context"
	"errors"
	"math"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync/clock"
)

func TestNewNormalizesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		n       int
		per     time.Duration
		wantN   int
		wantPer time.Duration
	}{
		{"valid", 110, 10 * time.Second, 110, 10 * time.Second},
		{"zero n", 0, time.Second, 1, time.Second},
		{"negative n", -5, time.Minute, 1, time.Minute},
		{"zero per", 10, 0, 10, DefaultPer},
		{"negative per", 10, -time.Second, 10, DefaultPer},
		{"both bad", 0, 0, 1, DefaultPer},
		{"per beyond MaxPer", 10, 48 * time.Hour, 10, MaxPer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := New(clock.NewFake(time.Time{}), tt.n, tt.per)
			n, per := l.Limit()
			if n != tt.wantN || per != tt.wantPer {
				t.Fatalf("Limit() = %d/%v, want %d/%v", n, per, tt.wantN, tt.wantPer)
			}
		})
	}
}

// TestBadInputStillLimits shows that a limiter built from nonsense input still makes a second
// request wait instead of admitting everything.
func TestBadInputStillLimits(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	l := New(clk, 0, 0)
	times := drive(t, clk, l, 1, 3)
	if got := times[2].Sub(times[0]); got < 2*DefaultPer {
		t.Fatalf("three requests took %v on a 1-per-%v limiter, want more than %v", got, DefaultPer, 2*DefaultPer)
	}
}

// TestHugeWindowStillLimits: a window so long that the spacing arithmetic overflowed used to give
// a negative spacing, which x/time/rate reads as no limit at all. Such windows are taken as MaxPer.
func TestHugeWindowStillLimits(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		n   int
		per time.Duration
	}{{1, math.MaxInt64}, {1, 9223372036854 * time.Millisecond}, {2, math.MaxInt64}, {3, math.MaxInt64}, {1, MaxPer}} {
		clk := clock.NewFake(time.Time{})
		l := New(clk, tt.n, tt.per)
		if n, per := l.Limit(); n != tt.n || per != MaxPer {
			t.Errorf("New(%d, %v).Limit() = %d/%v, want %d/%v", tt.n, tt.per, n, per, tt.n, MaxPer)
		}
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		now := clk.Now()
		want := MaxPer / time.Duration(max(tt.n-1, 1))
		if d := l.lim.ReserveN(now, 1).DelayFrom(now); d < want {
			t.Errorf("%d per %v: the second request may go after %v, want at least %v", tt.n, tt.per, d, want)
		}
		l.SetLimit(tt.n, tt.per)
		if _, per := l.Limit(); per != MaxPer {
			t.Errorf("SetLimit(%d, %v): window %v, want %v", tt.n, tt.per, per, MaxPer)
		}
	}
}

// drive runs workers goroutines that each call Wait each times, advancing the fake clock whenever
// every live worker sleeps, and returns the sorted admission times.
func drive(t *testing.T, clk *clock.Fake, l *Limiter, workers, each int) []time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var (
		mu    sync.Mutex
		times []time.Time
	)
	done := make(chan error, workers)
	for range workers {
		go func() {
			for range each {
				if err := l.Wait(ctx); err != nil {
					done <- err
					return
				}
				mu.Lock()
				times = append(times, clk.Now())
				mu.Unlock()
			}
			done <- nil
		}()
	}
	active := workers
	for active > 0 {
		bctx, bcancel := context.WithCancel(ctx)
		blocked := make(chan struct{})
		go func(n int) {
			if clk.BlockUntil(bctx, n) == nil {
				close(blocked)
			}
		}(active)
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Wait: %v", err)
			}
			active--
		case <-blocked:
			clk.AdvanceToNext()
		case <-ctx.Done():
			t.Fatalf("driver timed out with %d workers live", active)
		}
		bcancel()
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	return times
}

// maxInWindow returns the largest number of times that fall in one closed window of length per.
func maxInWindow(times []time.Time, per time.Duration) int {
	best, j := 0, 0
	for i := range times {
		for times[i].Sub(times[j]) > per {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

func TestNeverMoreThanNInAnyWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		n       int
		per     time.Duration
		workers int
		each    int
	}{
		{"hubspot default", 110, 10 * time.Second, 1, 400},
		{"hubspot default concurrent", 110, 10 * time.Second, 8, 50},
		{"search lane", 5, time.Second, 3, 20},
		{"scaled benchmark", 110, time.Second, 4, 100},
		{"two per window", 2, time.Second, 2, 10},
		{"one per window", 1, time.Second, 2, 5},
		{"odd spacing", 7, 333 * time.Millisecond, 5, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := clock.NewFake(time.Time{})
			l := New(clk, tt.n, tt.per)
			times := drive(t, clk, l, tt.workers, tt.each)
			if len(times) != tt.workers*tt.each {
				t.Fatalf("admitted %d, want %d", len(times), tt.workers*tt.each)
			}
			if got := maxInWindow(times, tt.per); got > tt.n {
				t.Fatalf("a window of %v held %d requests, limit %d", tt.per, got, tt.n)
			}
			// Throughput: (count-1) gaps over the elapsed span, compared with n per window.
			span := times[len(times)-1].Sub(times[0])
			got := float64(len(times)-1) / span.Seconds()
			want := float64(tt.n) / tt.per.Seconds()
			if tt.n >= 20 && got < 0.95*want {
				t.Fatalf("throughput %.3f/s, want >= 95%% of %.3f/s", got, want)
			}
			// The pace is exactly the documented spacing: the slower of (n-1)/per and
			// n/(per*(1+Headroom)).
			wantRate := min(float64(tt.n-1)/tt.per.Seconds(), float64(tt.n)/(tt.per.Seconds()*(1+Headroom)))
			if tt.n > 1 && (got < wantRate*0.999 || got > wantRate*1.001) {
				t.Fatalf("throughput %.3f/s, want %.3f/s", got, wantRate)
			}
			// Jitter room: n+1 consecutive admissions span more than the window by at least
			// Headroom of it, so uneven arrival up to that much still keeps n per window.
			if tt.n > 1 && len(times) > tt.n {
				for i := 0; i+tt.n < len(times); i++ {
					if span := times[i+tt.n].Sub(times[i]); span < tt.per+time.Duration(float64(tt.per)*Headroom) {
						t.Fatalf("admissions %d..%d span %v, want more than %v", i, i+tt.n, span, tt.per+time.Duration(float64(tt.per)*Headroom))
					}
				}
			}
		})
	}
}

func TestPauseUntilHoldsEveryWaiter(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	l := New(clk, 100, time.Second)
	start := clk.Now()
	resume := start.Add(7 * time.Second)
	l.PauseUntil(resume)
	l.PauseUntil(start.Add(time.Second)) // an earlier pause does not shorten the one in force
	if got := l.PausedUntil(); !got.Equal(resume) {
		t.Fatalf("PausedUntil = %v, want %v", got, resume)
	}
	times := drive(t, clk, l, 3, 2)
	if times[0].Before(resume) {
		t.Fatalf("first admission at %v, before the pause ended at %v", times[0], resume)
	}
}

// TestPauseDuringWait covers a request already queued behind the bucket when another request's
// 429 sets a pause: it must not pass at its reserved time.
func TestPauseDuringWait(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clk := clock.NewFake(time.Time{})
	l := New(clk, 2, time.Second) // one request a second
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	got := make(chan time.Time, 1)
	go func() {
		if err := l.Wait(ctx); err != nil {
			t.Error(err)
		}
		got <- clk.Now()
	}()
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	resume := clk.Now().Add(5 * time.Second)
	l.PauseUntil(resume)
	for {
		select {
		case at := <-got:
			if at.Before(resume) {
				t.Fatalf("passed at %v, pause ends %v", at, resume)
			}
			return
		default:
		}
		bctx, bcancel := context.WithCancel(ctx)
		blocked := make(chan struct{})
		go func() {
			if clk.BlockUntil(bctx, 1) == nil {
				close(blocked)
			}
		}()
		select {
		case at := <-got:
			bcancel()
			if at.Before(resume) {
				t.Fatalf("passed at %v, pause ends %v", at, resume)
			}
			return
		case <-blocked:
			clk.AdvanceToNext()
		case <-ctx.Done():
			t.Fatal("timed out")
		}
		bcancel()
	}
}

func TestWaitReturnsContextError(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	start := clk.Now()
	l := New(clk, 2, time.Hour)
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- l.Wait(ctx) }()
	if err := clk.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait after cancel = %v, want context.Canceled", err)
	}
	// A context that is already over fails at once, without touching the bucket.
	if err := l.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with ended context = %v, want context.Canceled", err)
	}
	// The cancelled waiter gave its slot back: the next request waits one spacing, not two.
	times := drive(t, clk, l, 1, 1)
	if got, limit := times[0].Sub(start), time.Hour+2*margin; got > limit {
		t.Fatalf("next admission after %v, want at most %v", got, limit)
	}
}

func TestSetLimit(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	l := New(clk, 110, 10*time.Second)
	l.SetLimit(110, 10*time.Second) // unchanged: no-op
	if n, per := l.Limit(); n != 110 || per != 10*time.Second {
		t.Fatalf("Limit() = %d/%v after no-op SetLimit", n, per)
	}
	l.SetLimit(11, time.Second)
	if n, per := l.Limit(); n != 11 || per != time.Second {
		t.Fatalf("Limit() = %d/%v, want 11/1s", n, per)
	}
	times := drive(t, clk, l, 2, 30)
	if got := maxInWindow(times, time.Second); got > 11 {
		t.Fatalf("a 1s window held %d requests after SetLimit(11, 1s)", got)
	}
	span := times[len(times)-1].Sub(times[0])
	if span > 6100*time.Millisecond || span < 5900*time.Millisecond {
		t.Fatalf("60 requests at 10/s took %v, want about 5.9s", span)
	}
	l.SetLimit(0, -1)
	if n, per := l.Limit(); n != 1 || per != DefaultPer {
		t.Fatalf("SetLimit(0, -1) gave %d/%v, want 1/%v", n, per, DefaultPer)
	}
}
