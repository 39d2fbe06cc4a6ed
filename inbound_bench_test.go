package hubsync_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/hubsynctest"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

// BenchmarkWebhookAck measures the HubSpot webhook handler on the SQLite store: 10 concurrent
// deliveries of 100 signed events each (HubSpot's own maximum in flight per portal), every event
// verified, deduplicated and queued durably before the 200. It reports acknowledged events per
// second and the p99 time to acknowledge a delivery (HubSpot gives up after 5 s).
//
// Run: go test -run XXX -bench WebhookAck -benchtime 200x .
func BenchmarkWebhookAck(b *testing.B) {
	ctx := context.Background()
	hs := hubspottest.NewServer()
	defer hs.Close()
	store, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "hubsync.db"), sqlitestore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	eng, err := hubsync.New(hubsync.Config{
		Store: store, Queue: store, Learners: hubsynctest.NewLearners(0),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		HubSpot: hubsync.HubSpotApp{ClientID: hs.ClientID(), ClientSecret: hs.ClientSecret(), RedirectURL: redirect, BaseURL: hs.URL},
	})
	if err != nil {
		b.Fatal(err)
	}
	_, refresh := hs.MintToken()
	if _, err := eng.ConnectWithRefreshToken(ctx, school, refresh); err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	u := srv.URL + "/hooks"
	mux.Handle("/hooks", eng.HubSpotWebhooks(hubsync.WebhookOptions{PublicURL: u}))

	var mu sync.Mutex
	var lat []time.Duration
	var next int64
	const concurrency, perBatch = 10, 100
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	work := make(chan int, b.N)
	for i := range b.N {
		work <- i
	}
	close(work)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				mu.Lock()
				base := next
				next += perBatch
				mu.Unlock()
				var sb strings.Builder
				sb.WriteByte('[')
				now := time.Now()
				for k := range int64(perBatch) {
					if k > 0 {
						sb.WriteByte(',')
					}
					sb.WriteString(event(hs.PortalID(), base+k, strconv.FormatInt(1000+(base+k)%5000, 10), "country", "GR", now))
				}
				sb.WriteByte(']')
				body := []byte(sb.String())
				stamp := strconv.FormatInt(time.Now().UnixMilli(), 10)
				req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
				req.Header.Set(hubspot.HeaderTimestamp, stamp)
				req.Header.Set(hubspot.HeaderSignatureV3, hubspot.SignV3(hs.ClientSecret(), http.MethodPost, u, body, stamp))
				t0 := time.Now()
				resp, err := http.DefaultClient.Do(req)
				d := time.Since(t0)
				if err != nil {
					b.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat)*perBatch)/elapsed.Seconds(), "events/s")
	b.ReportMetric(lat[len(lat)/2].Seconds()*1000, "p50-ack-ms")
	b.ReportMetric(lat[len(lat)*99/100].Seconds()*1000, "p99-ack-ms")
}
