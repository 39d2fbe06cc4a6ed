package hubspot_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubsync/hubsync/hubspot"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

// BenchmarkBatchUpsertRate drives batch upserts of 100 new contacts each, from 4 goroutines,
// against the fake with HubSpot's public-app limit of 110 requests per window, and reports the
// request rate reached as a share of the configured limit (%limit) and the 429 answers the fake
// gave (429s, want 0). Two windows: 1 s (the limit scaled 10x, a short run that needs about 40% of
// a core) and 10 s (HubSpot's own, unscaled; 400 requests take about 38 s).
//
//	go test -run '^$' -bench BatchUpsertRate -benchtime 400x ./hubspot/
func BenchmarkBatchUpsertRate(b *testing.B) {
	for _, window := range []time.Duration{time.Second, 10 * time.Second} {
		b.Run("window="+window.String(), func(b *testing.B) { benchUpsertRate(b, window) })
	}
}

func benchUpsertRate(b *testing.B, window time.Duration) {
	const (
		limit   = 110
		workers = 4
	)
	srv := hubspottest.NewServer(hubspottest.WithRateLimit(limit, window))
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
	start := time.Now()
	for w := range workers {
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
					in[k] = hubspot.UpsertInput{Email: fmt.Sprintf("w%d-b%d-c%d@bench.example.com", w, i, k), Properties: map[string]string{"firstname": "Bench"}}
				}
				if _, err := c.BatchUpsertByEmail(ctx, in); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	st := srv.Stats()
	if failed.Load() > 0 {
		b.Fatalf("%d batches failed", failed.Load())
	}
	if b.N > 1 {
		// N requests span N-1 gaps.
		rate := float64(b.N-1) / elapsed.Seconds()
		b.ReportMetric(rate, "req/s")
		b.ReportMetric(100*rate/(limit/window.Seconds()), "%limit")
		b.ReportMetric(float64(b.N-1)*hubspot.BatchLimit/elapsed.Seconds(), "contacts/s")
	}
	b.ReportMetric(float64(st.RateLimited), "429s")
	b.ReportMetric(float64(st.MaxInWindow), "max/window")
	if st.RateLimited > 0 {
		b.Errorf("the fake answered %d requests with 429", st.RateLimited)
	}
}
