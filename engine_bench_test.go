package hubsync_test

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/hubsynctest"
)

var (
	liveScale   = flag.Float64("livesync.scale", 2, "BenchmarkLiveSync: HubSpot's 10 s window is divided by this (the limit stays 110 requests a window)")
	liveWindows = flag.Int("livesync.windows", 20, "BenchmarkLiveSync: windows of the limit the backlogged phase is measured over")
)

// BenchmarkLiveSync measures live LMS -> HubSpot sync against the fake HubSpot enforcing
// HubSpot's burst limit of 110 requests per rolling window, the window scaled down in time by
// -livesync.scale (default 2: 110 requests per 5 s) for both the fake and the client's limiter,
// so it runs in minutes rather than tens of minutes. Nothing else is scaled: the request count
// per window, the batch size (100 contacts per upsert) and the engine's defaults (4 HubSpot
// workers) are HubSpot's and the engine's own.
//
//   - backlogged: a window's worth of live changes (11,000) to 20,000 already-synced learners is
//     queued at once, then more arrive at 1.25 x the ceiling (110 x 100 contacts per window) for
//     -livesync.windows + 1 windows, so the queue never empties. It reports ceiling_ratio, the requests the fake counted against the limit over
//     the first -livesync.windows whole windows from the first request, divided by windows x 110
//     (the most a rolling limit allows over that span); windows; 429s; calls/change; and
//     min_window, the fewest requests in one of those windows. The benchmark fails if the queue
//     ran empty during the measured windows (the ratio would then measure the producer), if any
//     change was lost, or if the fake answered a 429.
//   - live: after a quiet window, changes arrive at a tenth of the ceiling; it reports p50 and
//     p99 latency from LearnerChanged to the contact updated in HubSpot.
//
// Run: go test -run XXX -bench LiveSync -benchtime 1x . [-args -livesync.scale 2 -livesync.windows 20]
func BenchmarkLiveSync(b *testing.B) {
	const (
		learners = 20000
		limit    = 110
		perBatch = 100
		overload = 1.25 // arrival rate over the ceiling in the backlogged phase
	)
	scale, windows := *liveScale, *liveWindows
	if scale <= 0 || windows < 1 {
		b.Fatalf("-livesync.scale %v, -livesync.windows %d: want a positive scale and at least one window", scale, windows)
	}
	window := time.Duration(float64(10*time.Second) / scale)
	ceiling := float64(limit*perBatch) / window.Seconds() // changes per second
	for range b.N {
		ctx, cancel := context.WithCancel(context.Background())
		hs := hubspottest.NewServer(hubspottest.WithRateLimit(limit, window), hubspottest.WithRateLog())
		store := hubsynctest.NewMemStore()
		lms := hubsynctest.NewLearners(0)
		eng, err := hubsync.New(hubsync.Config{
			Store: store, Queue: store, Learners: lms,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			HubSpot: hubsync.HubSpotApp{
				ClientID: hs.ClientID(), ClientSecret: hs.ClientSecret(), RedirectURL: redirect,
				BaseURL: hs.URL, AuthorizeURL: hs.URL + "/oauth/authorize",
				RateLimit: limit, RateInterval: window,
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
		waitFor := func(n int, want func(i int) string) {
			for {
				ok := 0
				for i := range n {
					if c, found := hs.Contact(email(i)); found && c.Properties["country"] == want(i) {
						ok++
					}
				}
				if ok == n {
					return
				}
				time.Sleep(50 * time.Millisecond) // a benchmark on the real clock; never in tests
			}
		}
		change := func(i int, v string) {
			if err := eng.LearnerChanged(ctx, school, hubsync.Learner{Email: email(i), Values: map[string]any{"country": v}}); err != nil {
				b.Fatal(err)
			}
		}
		// Set-up, not measured: every learner synced once, then one quiet window so the
		// measured phase starts with the portal's budget whole, as after a quiet spell.
		for i := range learners {
			change(i, "GR")
		}
		waitFor(learners, func(int) string { return "GR" })
		time.Sleep(window + window/10)
		hs.ResetStats()
		hs.ResetRateLog()

		// Backlogged: a window's worth of changes is queued at once, then changes arrive at
		// overload x the ceiling for windows+1 windows. (Without the head start the engine,
		// whose first window may burst, would catch up with the producer and send part of that
		// window's requests half full.)
		last := make([]string, learners) // each learner's latest value
		produced := 0
		for ; produced < limit*perBatch; produced++ {
			i := produced % learners
			last[i] = "v" + strconv.Itoa(produced)
			change(i, last[i])
		}
		head := produced
		var minBacklog atomic.Int64
		minBacklog.Store(1 << 62)
		phaseStart := time.Now()
		phaseEnd := phaseStart.Add(time.Duration(windows+1) * window)
		var sampler sync.WaitGroup
		sampler.Add(1)
		go func() { // the queue's depth over the measured windows (the first 50 ms excepted)
			defer sampler.Done()
			for t := time.Now(); t.Before(phaseEnd.Add(-window)); t = time.Now() {
				time.Sleep(window / 50)
				if time.Since(phaseStart) < 50*time.Millisecond {
					continue
				}
				st, err := store.Stats(ctx, school)
				if err == nil {
					if d := int64(st.Ready + st.Leased); d < minBacklog.Load() {
						minBacklog.Store(d)
					}
				}
			}
		}()
		for now := time.Now(); now.Before(phaseEnd); now = time.Now() {
			due := head + int(now.Sub(phaseStart).Seconds()*ceiling*overload)
			for ; produced < due; produced++ {
				i := produced % learners
				last[i] = "v" + strconv.Itoa(produced)
				change(i, last[i])
			}
			time.Sleep(5 * time.Millisecond)
		}
		sampler.Wait()
		waitFor(learners, func(i int) string { return last[i] })
		st := hs.Stats()
		log := hs.RateLog()
		if len(log) == 0 {
			b.Fatal("the fake counted no request")
		}
		t0 := log[0]
		counts := make([]int, windows)
		for _, t := range log {
			if k := int(t.Sub(t0) / window); k < windows {
				counts[k]++
			}
		}
		total := 0
		for _, c := range counts {
			total += c
		}
		ratio := float64(total) / float64(windows*limit)
		b.ReportMetric(ratio, "ceiling_ratio")
		b.ReportMetric(float64(windows), "windows")
		b.ReportMetric(float64(st.RateLimited), "429s")
		b.ReportMetric(float64(slices.Min(counts)), "min_window")
		b.ReportMetric(float64(st.Requests)/float64(produced), "calls/change")
		b.Logf("scale %gx (%d requests per %v); backlogged: %d changes at %.0f/s (%.2f x the ceiling) for %v; "+
			"%d requests counted in %d windows from the first (per window %v), ratio %.4f; most in one rolling window %d; %d 429s; fewest jobs queued %d",
			scale, limit, window, produced, ceiling*overload, overload, phaseEnd.Sub(phaseStart).Round(time.Millisecond),
			total, windows, counts, ratio, st.MaxInWindow, st.RateLimited, minBacklog.Load())
		if st.RateLimited > 0 {
			b.Errorf("the fake answered %d requests with 429", st.RateLimited)
		}
		if minBacklog.Load() == 0 {
			b.Errorf("the queue ran empty during the measured windows: the ratio measures the producer, not the pacing")
		}

		// Live, at a tenth of the ceiling: latency from the call to the contact updated, after
		// a quiet window (the backlog spent the window's budget to the last request).
		time.Sleep(window + window/10)
		const live = 1000
		gap := time.Duration(float64(time.Second) / (ceiling / 10))
		sent := make([]time.Time, live)
		for i := range live {
			sent[i] = time.Now()
			change(i, "NL")
			time.Sleep(gap)
		}
		waitFor(live, func(int) string { return "NL" })
		lat := make([]time.Duration, live)
		for i := range live {
			c, _ := hs.Contact(email(i))
			lat[i] = c.UpdatedAt.Sub(sent[i])
		}
		slices.Sort(lat)
		b.ReportMetric(lat[live/2].Seconds(), "p50-latency-s")
		b.ReportMetric(lat[live*99/100].Seconds(), "p99-latency-s")
		b.Logf("live at a tenth of the ceiling: p50 %v p99 %v", lat[live/2], lat[live*99/100])
		cancel()
		<-done
		hs.Close()
	}
}
