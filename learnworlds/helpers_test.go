package learnworlds_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// specTransport, when set (spec_test.go sets it), wraps every test client's transport so that
// traffic is validated against the official OpenAPI documents.
var specTransport func(t testing.TB, base http.RoundTripper) http.RoundTripper

// transport returns the transport test clients use.
func transport(t testing.TB) http.RoundTripper {
	if specTransport != nil {
		return specTransport(t, http.DefaultTransport)
	}
	return http.DefaultTransport
}

// fastLimit is a rate limit high enough that real-clock tests never wait noticeably.
const fastLimit = 100000

// newFake starts a fake school with a high limit on the real clock, unless opts say otherwise.
func newFake(t testing.TB, opts ...learnworldstest.Option) *learnworldstest.Server {
	t.Helper()
	s := learnworldstest.NewServer(append([]learnworldstest.Option{learnworldstest.WithRateLimit(fastLimit, time.Second)}, opts...)...)
	t.Cleanup(func() {
		if u := s.UnknownRoutes(); len(u) > 0 {
			t.Errorf("the fake saw requests to unknown routes: %v", u)
		}
		s.Close()
	})
	return s
}

// newClient returns a client of the fake school; mod adjusts the config.
func newClient(t testing.TB, s *learnworldstest.Server, mod func(*learnworlds.Config)) *learnworlds.Client {
	t.Helper()
	cfg := learnworlds.Config{
		BaseURL: s.URL, ClientID: s.ClientID, ClientSecret: s.ClientSecret,
		HTTPClient: &http.Client{Transport: transport(t)}, RateLimit: fastLimit, RatePer: time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := learnworlds.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// drive advances clk to each next timer until ctx ends, so code waiting on the fake clock (rate
// limiter, backoff, fault latency) proceeds while the test waits for it on a signal.
func drive(ctx context.Context, clk *clock.Fake) {
	go func() {
		for {
			if err := clk.BlockUntil(ctx, 1); err != nil {
				return
			}
			clk.AdvanceToNext()
		}
	}()
}
