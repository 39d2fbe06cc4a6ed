package learnworlds_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// sent is one request as the client's transport saw it: when it left (on the fake clock), for
// what, and the status it got back (0 for a transport error).
type sent struct {
	at       time.Time
	answered time.Time
	path     string
	status   int
}

// recorder is a RoundTripper that logs every request the client sends.
type recorder struct {
	clk  clock.Clock
	next http.RoundTripper

	mu       sync.Mutex
	log      []sent
	inflight int
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.inflight++
	r.mu.Unlock()
	at := r.clk.Now()
	resp, err := r.next.RoundTrip(req)
	s := sent{at: at, answered: r.clk.Now(), path: req.URL.Path}
	if err == nil {
		s.status = resp.StatusCode
	}
	r.mu.Lock()
	r.log = append(r.log, s)
	r.inflight--
	r.mu.Unlock()
	return resp, err
}

// driveIdle is drive, but advances clk only while no request is on its way, so an answer
// arrives at the instant its request left (the fake answers at once) and no slot is held longer
// than the pacing says.
func driveIdle(ctx context.Context, clk *clock.Fake, rec *recorder) {
	go func() {
		for clk.BlockUntil(ctx, 1) == nil {
			rec.mu.Lock()
			idle := rec.inflight == 0
			rec.mu.Unlock()
			if idle {
				clk.AdvanceToNext()
			}
			runtime.Gosched()
		}
	}()
}

func (r *recorder) sent() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.log)
	slices.SortStableFunc(out, func(a, b sent) int { return a.at.Compare(b.at) })
	return out
}

// mostInWindow returns the most requests sent in one rolling window (t-per, t].
func mostInWindow(log []sent, per time.Duration) int {
	most, lo := 0, 0
	for hi := range log {
		for !log[lo].at.After(log[hi].at.Add(-per)) {
			lo++
		}
		most = max(most, hi-lo+1)
	}
	return most
}

// pacedClient returns a fake school on clk with a limit of n per per, seeded with users, and a
// client of it with the same limit, minting its token (a request that counts too), whose
// requests rec logs.
func pacedClient(t *testing.T, clk *clock.Fake, n int, per time.Duration, users int) (*learnworldstest.Server, *learnworlds.Client, *recorder) {
	t.Helper()
	s := newFake(t, learnworldstest.WithClock(clk), learnworldstest.WithRateLimit(n, per))
	if err := s.Seed(users, nil); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{clk: clk, next: transport(t)}
	c := newClient(t, s, func(c *learnworlds.Config) {
		c.Clock, c.RateLimit, c.RatePer = clk, n, per
		c.HTTPClient = &http.Client{Transport: rec}
	})
	return s, c, rec
}

// getAll has callers goroutines each get each users, and fails the test on any error.
func getAll(t *testing.T, ctx context.Context, c *learnworlds.Client, callers, each int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, callers*each)
	for g := range callers {
		wg.Go(func() {
			for i := range each {
				if _, err := c.GetUser(ctx, fmt.Sprintf("learner%d@example.com", (g*each+i)%10)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestPacingNeverMoreThanNInAnyWindow: callers on one client, more than the limit allows at once,
// never send more than n requests in any window of the limit, the token request included, and
// the school never answers 429; and the client still keeps close to the limit (the 31 requests
// at 5 per 10 s take about 6 windows, not more).
func TestPacingNeverMoreThanNInAnyWindow(t *testing.T) {
	t.Parallel()
	const n, per, callers, each = 5, 10 * time.Second, 6, 5
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	s, c, rec := pacedClient(t, clk, n, per, 10)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	driveIdle(ctx, clk, rec)
	getAll(t, ctx, c, callers, each)
	log := rec.sent()
	if len(log) != callers*each+1 {
		t.Fatalf("%d requests sent, want %d (%d gets and the token request)", len(log), callers*each+1, callers*each)
	}
	if log[0].path != learnworldstest.APIPath+"/oauth2/access_token" {
		t.Fatalf("the first request went to %s, want the token request", log[0].path)
	}
	if got := mostInWindow(log, per); got > n {
		t.Fatalf("%d requests in one window of %v, limit %d", got, per, n)
	}
	if st := s.Stats(); st.RateLimited != 0 || st.TokensMinted != 1 {
		t.Fatalf("stats %+v: want no 429 and one token minted", st)
	}
	// 31 requests of 5 a window: the 31st cannot go before 6 windows, and goes within about 7.
	// The clock driver may move fake time while a request is on its way between client and
	// server (it counts only what the server holds), and each such move delays the next slot:
	// under -race on a loaded machine that added 77 ms once, so the bound keeps half a window.
	if span := log[len(log)-1].at.Sub(log[0].at); span < 6*per || span >= 7*per+per/2 {
		t.Fatalf("the requests spanned %v, want from %v to under %v", span, 6*per, 7*per+per/2)
	}
}

// TestPacing429PausesEveryone: a 429 with Retry-After pauses every caller of the client, not
// only the one that got it: while the caller that got it waits out its Retry-After, another
// caller sends nothing (it gives up when its own context ends, with no request sent), and once
// the Retry-After has passed both go again.
func TestPacing429PausesEveryone(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	s, c, rec := pacedClient(t, clk, fastLimit, time.Second, 10)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := c.GetUser(ctx, "learner0@example.com"); err != nil { // mint first; the burst needs no timer
		t.Fatal(err)
	}
	clk.Advance(time.Second) // the smoothing bucket refills
	s.InjectFault(learnworldstest.Fault{Path: "/v2/users", Status: http.StatusTooManyRequests, RetryAfter: "7"})
	limited := clk.Now()
	first := make(chan error, 1)
	go func() {
		_, err := c.GetUser(ctx, "learner1@example.com")
		first <- err
	}()
	if err := clk.BlockUntil(ctx, 1); err != nil { // it waits out the Retry-After
		t.Fatal(err)
	}
	before := len(rec.sent())
	// Another caller: the pause holds it too. Its context ends on the real clock, since on the
	// fake one nothing moves.
	short, stop := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err := c.GetUser(short, "learner2@example.com")
	stop()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a get during the pause: err = %v, want it held until its context ended", err)
	}
	if got := len(rec.sent()); got != before {
		t.Fatalf("%d requests went during the 7 s Retry-After", got-before)
	}
	clk.Advance(7 * time.Second)
	if err := <-first; err != nil {
		t.Fatalf("the get that got the 429: %v", err)
	}
	if _, err := c.GetUser(ctx, "learner2@example.com"); err != nil {
		t.Fatalf("a get after the pause: %v", err)
	}
	for _, r := range rec.sent()[before:] {
		if r.at.Before(limited.Add(7 * time.Second)) {
			t.Fatalf("a request went %v after the 429, within its Retry-After of 7 s", r.at.Sub(limited))
		}
	}
}
