package hubspot_test

import (
	"errors"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/hubspot"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	const props = "/crm/properties/2026-03/contacts"
	tests := []struct {
		name      string
		faults    []hubspottest.Fault
		wantErr   func(t *testing.T, err error)
		minWait   time.Duration // fake time that must pass
		maxWait   time.Duration
		wantCalls int
	}{
		{
			name:   "ten-secondly 429 waits out the window",
			faults: []hubspottest.Fault{{PathPrefix: props, Status: 429}},
			// The fake announces its 10 s window in the headers of the 429.
			minWait: 10 * time.Second, maxWait: 11 * time.Second, wantCalls: 2,
		},
		{
			name:   "daily 429 is a typed error with the reset time",
			faults: []hubspottest.Fault{{PathPrefix: props, Status: 429, Policy: "DAILY"}},
			wantErr: func(t *testing.T, err error) {
				var rl *hubspot.RateLimitError
				if !errors.As(err, &rl) || rl.Policy != "DAILY" || !rl.Reset.Equal(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)) {
					t.Fatalf("err = %v, want a DAILY RateLimitError resetting at midnight", err)
				}
			},
			wantCalls: 1,
		},
		{
			name:    "423 waits at least 2 s",
			faults:  []hubspottest.Fault{{PathPrefix: props, Status: http.StatusLocked}},
			minWait: 2 * time.Second, maxWait: 3 * time.Second, wantCalls: 2,
		},
		{
			name:    "477 honours Retry-After",
			faults:  []hubspottest.Fault{{PathPrefix: props, Status: 477, RetryAfter: 7 * time.Second}},
			minWait: 7 * time.Second, maxWait: 8 * time.Second, wantCalls: 2,
		},
		{
			name:   "477 longer than the wait budget is a typed error",
			faults: []hubspottest.Fault{{PathPrefix: props, Status: 477, RetryAfter: time.Hour}},
			wantErr: func(t *testing.T, err error) {
				var rl *hubspot.RateLimitError
				if !errors.As(err, &rl) || rl.StatusCode != 477 || rl.RetryAfter != time.Hour {
					t.Fatalf("err = %v, want a 477 RateLimitError with RetryAfter 1h", err)
				}
			},
			wantCalls: 1,
		},
		{
			// 4611686019 s, about 146 years: as a time.Duration of seconds it overflowed.
			name:   "477 beyond MaxRetryAfter is capped",
			faults: []hubspottest.Fault{{PathPrefix: props, Status: 477, RetryAfter: 1 << 62}},
			wantErr: func(t *testing.T, err error) {
				var rl *hubspot.RateLimitError
				if !errors.As(err, &rl) || rl.StatusCode != 477 || rl.RetryAfter != hubspot.MaxRetryAfter {
					t.Fatalf("err = %v, want a 477 RateLimitError with RetryAfter %v", err, hubspot.MaxRetryAfter)
				}
				var ae *hubspot.APIError
				if errors.As(err, &ae) {
					t.Fatalf("err = %v is also an APIError", err)
				}
			},
			wantCalls: 1,
		},
		{
			name:      "5xx backs off and recovers",
			faults:    []hubspottest.Fault{{PathPrefix: props, Status: 502, Times: 2}, {PathPrefix: props, Status: 524}},
			minWait:   500 * time.Millisecond, // three jittered backoffs of at least 250, 500, 1000 ms
			maxWait:   10 * time.Second,
			wantCalls: 4,
		},
		{
			name:   "5xx retries are bounded",
			faults: []hubspottest.Fault{{PathPrefix: props, Status: 503, Times: 50}},
			wantErr: func(t *testing.T, err error) {
				var ae *hubspot.APIError
				if !errors.As(err, &ae) || ae.StatusCode != 503 {
					t.Fatalf("err = %v, want the last 503 APIError", err)
				}
			},
			wantCalls: 1 + hubspot.DefaultMaxRetries,
		},
		{
			name:   "522 is not retried",
			faults: []hubspottest.Fault{{PathPrefix: props, Status: 522}},
			wantErr: func(t *testing.T, err error) {
				var ae *hubspot.APIError
				if !errors.As(err, &ae) || ae.StatusCode != 522 {
					t.Fatalf("err = %v, want a 522 APIError", err)
				}
			},
			wantCalls: 1,
		},
		{
			name:      "dropped connection is retried",
			faults:    []hubspottest.Fault{{PathPrefix: props, Drop: true}},
			maxWait:   5 * time.Second,
			wantCalls: 2,
		},
		{
			name:      "latency on the server clock",
			faults:    []hubspottest.Fault{{PathPrefix: props, Latency: 3 * time.Second}},
			minWait:   3 * time.Second,
			maxWait:   4 * time.Second,
			wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := clock.NewFake(time.Time{})
			f := newFixture(t, hubspot.Version202603, []hubspottest.Option{hubspottest.WithClock(clk)})
			autoAdvance(t, clk)
			for _, fl := range tt.faults {
				f.srv.InjectFault(fl)
			}
			start := clk.Now()
			_, err := f.client.ListProperties(ctxT(t), false)
			elapsed := clk.Now().Sub(start)
			if tt.wantErr != nil {
				tt.wantErr(t, err)
			} else if err != nil {
				t.Fatalf("err = %v, want success after retries", err)
			}
			if tt.minWait > 0 && elapsed < tt.minWait {
				t.Errorf("waited %v of fake time, want at least %v", elapsed, tt.minWait)
			}
			if tt.maxWait > 0 && elapsed > tt.maxWait {
				t.Errorf("waited %v of fake time, want at most %v", elapsed, tt.maxWait)
			}
			if got := f.srv.Stats().Requests; got != tt.wantCalls {
				t.Errorf("%d requests, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestRateLimitFromHeaders(t *testing.T) {
	t.Parallel()
	f := newFixture(t, hubspot.DefaultVersion, []hubspottest.Option{hubspottest.WithRateLimit(50, 5*time.Second)})
	if n, per := f.client.RateLimit(); n != hubspot.DefaultRequests || per != hubspot.DefaultInterval {
		t.Fatalf("initial limit %d/%v", n, per)
	}
	if _, err := f.client.ListProperties(ctxT(t), false); err != nil {
		t.Fatal(err)
	}
	if n, per := f.client.RateLimit(); n != 50 || per != 5*time.Second {
		t.Fatalf("limit after headers = %d/%v, want 50/5s", n, per)
	}
	if st := f.client.RateLimitStatus(); st.Max != 50 || st.Remaining != 49 || st.Interval != 5*time.Second || st.At.IsZero() {
		t.Fatalf("RateLimitStatus = %+v", st)
	}
}

// TestRateLimitHeadersAreCapped: a fake announcing one request per 292 years (the longest
// time.Duration) makes the client adopt a window of MaxRetryAfter, and the 429 that follows asks
// for MaxRetryAfter. Read as it was sent, the window overflowed the limiter's arithmetic and left
// the client unlimited.
func TestRateLimitHeadersAreCapped(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	f := newFixture(t, hubspot.DefaultVersion, []hubspottest.Option{hubspottest.WithClock(clk), hubspottest.WithRateLimit(1, math.MaxInt64)})
	autoAdvance(t, clk)
	if _, err := f.client.ListProperties(ctxT(t), false); err != nil {
		t.Fatal(err)
	}
	if n, per := f.client.RateLimit(); n != 1 || per != hubspot.MaxRetryAfter {
		t.Fatalf("limit after headers = %d/%v, want 1/%v", n, per, hubspot.MaxRetryAfter)
	}
	if st := f.client.RateLimitStatus(); st.Interval != hubspot.MaxRetryAfter {
		t.Fatalf("RateLimitStatus = %+v, want Interval %v", st, hubspot.MaxRetryAfter)
	}
	start := clk.Now()
	_, err := f.client.ListProperties(ctxT(t), false)
	var rl *hubspot.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != hubspot.MaxRetryAfter || !rl.Reset.Equal(clk.Now().Add(hubspot.MaxRetryAfter)) {
		t.Fatalf("err = %v, want a RateLimitError asking for %v", err, hubspot.MaxRetryAfter)
	}
	if waited := clk.Now().Sub(start); waited < hubspot.MaxRetryAfter {
		t.Fatalf("the second request went after %v, want the limiter to hold it for the capped window", waited)
	}
}

// TestLimiterKeepsUnderFakeLimit pushes more requests than one window allows through a client
// whose limit matches the fake's and checks that no 429 is ever answered.
func TestLimiterKeepsUnderFakeLimit(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	f := newFixture(t, hubspot.DefaultVersion, []hubspottest.Option{hubspottest.WithClock(clk), hubspottest.WithRateLimit(10, time.Second)},
		hubspot.WithRateLimit(10, time.Second))
	autoAdvance(t, clk)
	start := clk.Now()
	for range 35 {
		if _, err := f.client.ListProperties(ctxT(t), false); err != nil {
			t.Fatal(err)
		}
	}
	st := f.srv.Stats()
	if st.RateLimited != 0 || st.MaxInWindow > 10 {
		t.Fatalf("stats %+v: the client exceeded the limit", st)
	}
	if elapsed := clk.Now().Sub(start); elapsed > 4*time.Second {
		t.Fatalf("35 requests at 10/s took %v of fake time, want under 4s", elapsed)
	}
}

func TestContextCancelStopsRetries(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	f := newFixture(t, hubspot.DefaultVersion, []hubspottest.Option{hubspottest.WithClock(clk)})
	f.srv.InjectFault(hubspottest.Fault{Status: 503, Times: 10})
	ctx, cancel := contextWithCancel(t)
	errc := make(chan error, 1)
	go func() { _, err := f.client.ListProperties(ctx, false); errc <- err }()
	if err := clk.BlockUntil(ctxT(t), 1); err != nil { // the client sleeps in its backoff
		t.Fatal(err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, errCanceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
