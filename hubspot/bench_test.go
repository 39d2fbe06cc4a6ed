package hubspot_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubsync/hubsync/hubspot"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

// BenchmarkBatchUpsertRate drives batch upserts of 100 contacts each, from 4 goroutines, against
// the fake with HubSpot's public-app limit of 110 requests per window, the client's limit set the
// same, and reports from the fake's log of the requests it counted: ceiling_ratio, the requests
// counted in the whole windows from the first request (windows of the limit's length, back to
// back) over windows x 110; windows; min_window, the fewest in one of them; 429s (want 0); and
// max/window, the most the fake saw in one rolling window. Two windows: 1 s (the limit scaled 10x,
// about 40% of a core) and 10 s (HubSpot's own). -benchtime 2300x gives 20 windows of each
// (about 21 s and 210 s).
//
//	go test -run '^$' -bench BatchUpsertRate -benchtime 2300x ./hubspot/
func BenchmarkBatchUpsertRate(b *testing.B) {
	for _, window := range []time.Duration{time.Second, 10 * time.Second} {
		b.Run("window="+window.String(), func(b *testing.B) { benchUpsertRate(b, window) })
	}
}

func benchUpsertRate(b *testing.B, window time.Duration) {
	const (
		limit   = 110
		workers = 4
		pool    = 50 // batches of distinct contacts; later batches update them
	)
	srv := hubspottest.NewServer(hubspottest.WithRateLimit(limit, window), hubspottest.WithRateLog())
	defer srv.Close()
	access, refresh := srv.MintToken()
	expiry, _ := srv.TokenExpiry(access)
	o, err := hubspot.NewOAuth(testApp(srv), hubspot.WithBaseURL(srv.URL))
	if err != nil {
		b.Fatal(err)
	}
	c, err := hubspot.New(hubspot.WithBaseURL(srv.URL), hubspot.WithRateLimit(limit, window),
		hubspot.WithTokenSource(o.TokenSource(&hubspot.Token{AccessToken: access, RefreshToken: refresh, Expiry: expiry}, nil)),
		hubspot.WithHTTPClient(&http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Int64
	b.ResetTimer()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				in := make([]hubspot.UpsertInput, hubspot.BatchLimit)
				for k := range in {
					in[k] = hubspot.UpsertInput{Email: fmt.Sprintf("b%d-c%d@bench.example.com", i%pool, k), Properties: map[string]string{"firstname": fmt.Sprint("Bench", i)}}
				}
				if _, err := c.BatchUpsertByEmail(ctx, in); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	st := srv.Stats()
	if failed.Load() > 0 {
		b.Fatalf("%d batches failed", failed.Load())
	}
	// Whole windows from the first request counted; the last, cut short by the end of the run,
	// is left out.
	log := srv.RateLog()
	if n := int(log[len(log)-1].Sub(log[0]) / window); n > 0 {
		counts := make([]int, n)
		for _, t := range log {
			if k := int(t.Sub(log[0]) / window); k < n {
				counts[k]++
			}
		}
		total := 0
		for _, k := range counts {
			total += k
		}
		b.ReportMetric(float64(total)/float64(n*limit), "ceiling_ratio")
		b.ReportMetric(float64(n), "windows")
		b.ReportMetric(float64(slices.Min(counts)), "min_window")
		b.Logf("%d requests; per window of %v from the first: %v", len(log), window, counts)
	}
	b.ReportMetric(float64(st.RateLimited), "429s")
	b.ReportMetric(float64(st.MaxInWindow), "max/window")
	if st.RateLimited > 0 {
		b.Errorf("the fake answered %d requests with 429", st.RateLimited)
	}
}
