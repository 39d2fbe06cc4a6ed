package hubspot_test

import (
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/hubspot"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

// TestNewClientHonoursSpentBudget: a client that starts while another (this app in another
// process, or before a restart) has spent 8 of the portal's 10 requests in the current window
// sends one request first, reads X-HubSpot-RateLimit-Remaining from its answer, and keeps within
// what is left: no 429 although it then sends 6 at once. Without the probe it would send its 6
// into a window with 2 left.
func TestNewClientHonoursSpentBudget(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	f := newFixture(t, hubspot.DefaultVersion, []hubspottest.Option{hubspottest.WithClock(clk), hubspottest.WithRateLimit(10, time.Second)},
		hubspot.WithRateLimit(10, time.Second))
	autoAdvance(t, clk)
	for range 8 { // within 0.7 s: the client spaces them per/n apart beyond its first
		if _, err := f.client.ListProperties(ctxT(t), false); err != nil {
			t.Fatal(err)
		}
	}
	access, refresh := f.srv.MintToken()
	expiry, _ := f.srv.TokenExpiry(access)
	o, err := hubspot.NewOAuth(testApp(f.srv), hubspot.WithBaseURL(f.srv.URL), hubspot.WithHTTPClient(testHTTPClient(t)), hubspot.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	second, err := hubspot.New(hubspot.WithBaseURL(f.srv.URL), hubspot.WithHTTPClient(testHTTPClient(t)), hubspot.WithClock(clk),
		hubspot.WithRateLimit(10, time.Second),
		hubspot.WithTokenSource(o.TokenSource(&hubspot.Token{AccessToken: access, RefreshToken: refresh, Expiry: expiry}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	start := clk.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Go(func() {
			if _, err := second.ListProperties(ctxT(t), false); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := f.srv.Stats(); st.RateLimited != 0 || st.MaxInWindow > 10 {
		t.Fatalf("stats %+v: the second client overran the window the first had spent", st)
	}
	// Two fit beside the first client's 8 (the probe and one more); the other 4 wait for the
	// window to move past the probe's answer.
	if waited := clk.Now().Sub(start); waited < time.Second {
		t.Fatalf("6 requests into a window with 2 left took %v of fake time, want at least the window", waited)
	}
}
