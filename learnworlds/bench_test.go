package learnworlds_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// BenchmarkUsersListingRate lists every user of a fake school with the real limit (30 requests per
// 10 s), with it scaled three times faster, and with it scaled ten times faster over 20 windows
// (620 pages, about 21 s: the first two cases end within their first window or two, so only this
// one measures the pace once the window rule binds; its pages hold 20 users, the API's default,
// not 200, so that on a loaded machine answer times stay well under the 33 ms spacing and the
// case measures the pacing rather than the CPU). It reports the share of the limit the
// listing holds (%limit, want >= 95), the windows it spans and the 429s it provoked (want 0).
// The share and the 429s are checked; a 429 is retried (so the run ends and counts them) and
// the share counts only the requests the fake accepted.
//
//	go test -run '^$' -bench UsersListingRate ./learnworlds/
func BenchmarkUsersListingRate(b *testing.B) {
	for _, bc := range []struct {
		name  string
		limit int
		per   time.Duration
		pages int
		size  int // users a page
	}{
		{"real_30_per_10s", 30, 10 * time.Second, 20, learnworlds.MaxUsersPerPage},
		{"scaled_30_per_3s", 30, 3 * time.Second, 30, learnworlds.MaxUsersPerPage},
		{"scaled_30_per_1s_20_windows", 30, time.Second, 20*30 + 20, 20},
	} {
		b.Run(bc.name, func(b *testing.B) { benchListing(b, bc.limit, bc.per, bc.pages, bc.size) })
	}
}

func benchListing(b *testing.B, limit int, per time.Duration, pages, size int) {
	s := learnworldstest.NewServer(learnworldstest.WithRateLimit(limit, per))
	defer s.Close()
	if err := s.Seed(pages*size, nil); err != nil {
		b.Fatal(err)
	}
	c, err := learnworlds.New(learnworlds.Config{BaseURL: s.URL, ClientID: s.ClientID, ClientSecret: s.ClientSecret,
		HTTPClient: &http.Client{}, RateLimit: limit, RatePer: per})
	if err != nil {
		b.Fatal(err)
	}
	var elapsed time.Duration
	var requests int
	for b.Loop() {
		before := accepted(s.Stats())
		start := time.Now()
		n := 0
		for _, err := range c.Users(b.Context(), learnworlds.ListUsersOptions{PerPage: size}) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		elapsed += time.Since(start)
		// The first request of a listing goes at once; the pace is set by the gaps that follow it.
		requests += accepted(s.Stats()) - before - 1
		if n != pages*size {
			b.Fatalf("listed %d users", n)
		}
	}
	st := s.Stats()
	rate := float64(requests) / elapsed.Seconds()
	share := 100 * rate / (float64(limit) / per.Seconds())
	b.ReportMetric(rate, "req/s")
	b.ReportMetric(share, "%limit")
	b.ReportMetric(float64(requests)/float64(b.N)/float64(limit), "windows")
	b.ReportMetric(float64(st.RateLimited), "429s")
	b.Logf("%d requests after the first (%.1f windows) in %v: %.2f req/s, %.1f%% of the limit, %d 429s",
		requests, float64(requests)/float64(limit), elapsed.Round(time.Millisecond), rate, share, st.RateLimited)
	if st.RateLimited > 0 {
		b.Errorf("the listing provoked %d 429s", st.RateLimited)
	}
	if share < 95 {
		b.Errorf("the listing held %.1f%% of the limit, want >= 95%%", share)
	}
}

// accepted counts the requests the fake served, not those it refused for the rate limit.
func accepted(st learnworldstest.Stats) int { return st.Requests - st.RateLimited }
