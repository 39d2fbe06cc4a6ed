package hubsync_test

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/hubsynctest"
)

// BenchmarkLiveSync measures live LMS -> HubSpot sync against the fake HubSpot enforcing
// HubSpot's real burst limit (110 requests per 10 s) scaled down in time by benchScale, so it
// runs in seconds:
//
//   - saturated: 10,000 already-synced learners all change at once, as fast as the host can call;
//     it reports throughput / ceiling (contacts written per second over 110 x 100 per window),
//     API calls per change and 429s received;
//   - live: changes arrive at a tenth of the ceiling; it reports p50 and p99 latency from
//     LearnerChanged to the contact updated in HubSpot.
//
// Run: go test -run XXX -bench LiveSync -benchtime 1x .
func BenchmarkLiveSync(b *testing.B) {
	const (
		learners   = 10000
		benchScale = 2 // 110 requests per 5 s instead of per 10 s
		window     = 10 * time.Second / benchScale
	)
	for range b.N {
		ctx, cancel := context.WithCancel(context.Background())
		hs := hubspottest.NewServer(hubspottest.WithRateLimit(110, window))
		store := hubsynctest.NewMemStore()
		lms := hubsynctest.NewLearners(0)
		eng, err := hubsync.New(hubsync.Config{
			Store: store, Queue: store, Learners: lms,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			HubSpot: hubsync.HubSpotApp{
				ClientID: hs.ClientID(), ClientSecret: hs.ClientSecret(), RedirectURL: redirect,
				BaseURL: hs.URL, AuthorizeURL: hs.URL + "/oauth/authorize",
				RateLimit: 110, RateInterval: window,
			},
		})
		if err != nil {
			b.Fatal(err)
		}
		u, _ := eng.AuthorizeURL(school)
		pu, _ := url.Parse(u)
		if _, err := eng.CompleteConnect(ctx, school, hs.AuthorizeCode(redirect), pu.Query().Get("state")); err != nil {
			b.Fatal(err)
		}
		if _, err := eng.SaveSettings(ctx, school, hubsync.Settings{Mappings: basicMapping}); err != nil {
			b.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- eng.Run(ctx) }()

		email := func(i int) string { return "learner" + strconv.Itoa(i) + "@school.example" }
		waitAll := func(n int, country string) {
			for {
				ok := 0
				for i := range n {
					if c, found := hs.Contact(email(i)); found && c.Properties["country"] == country {
						ok++
					}
				}
				if ok == n {
					return
				}
				time.Sleep(50 * time.Millisecond) // a benchmark on the real clock; never in tests
			}
		}
		// Set-up, not measured: every learner synced once.
		for i := range learners {
			if err := eng.LearnerChanged(ctx, school, hubsync.Learner{Email: email(i), Values: map[string]any{"country": "GR"}}); err != nil {
				b.Fatal(err)
			}
		}
		waitAll(learners, "GR")
		hs.ResetStats()

		// Saturated.
		start := time.Now()
		for i := range learners {
			if err := eng.LearnerChanged(ctx, school, hubsync.Learner{Email: email(i), Values: map[string]any{"country": "FR"}}); err != nil {
				b.Fatal(err)
			}
		}
		waitAll(learners, "FR")
		elapsed := time.Since(start)
		st := hs.Stats()
		ceiling := 110.0 * 100 / window.Seconds()
		throughput := float64(learners) / elapsed.Seconds()
		b.ReportMetric(throughput/ceiling, "throughput/ceiling")
		b.ReportMetric(float64(st.Requests)/learners, "calls/change")
		b.ReportMetric(float64(st.RateLimited), "429s")

		// Live, at a tenth of the ceiling: latency from the call to the contact updated.
		const live = 1000
		gap := time.Duration(float64(time.Second) / (ceiling / 10))
		sent := make([]time.Time, live)
		for i := range live {
			sent[i] = time.Now()
			if err := eng.LearnerChanged(ctx, school, hubsync.Learner{Email: email(i), Values: map[string]any{"country": "NL"}}); err != nil {
				b.Fatal(err)
			}
			time.Sleep(gap)
		}
		waitAll(live, "NL")
		lat := make([]time.Duration, live)
		for i := range live {
			c, _ := hs.Contact(email(i))
			lat[i] = c.UpdatedAt.Sub(sent[i])
		}
		slices.Sort(lat)
		b.ReportMetric(lat[live/2].Seconds(), "p50-latency-s")
		b.ReportMetric(lat[live*99/100].Seconds(), "p99-latency-s")
		b.Logf("scale %dx (110 requests per %v); saturated: %d changes in %v, %d requests, %d 429s; live p50 %v p99 %v",
			benchScale, window, learners, elapsed.Round(time.Millisecond), st.Requests, st.RateLimited, lat[live/2], lat[live*99/100])
		cancel()
		<-done
		hs.Close()
	}
}
