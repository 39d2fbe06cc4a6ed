package hubsync

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

type statusErr int

func (s statusErr) Error() string   { return fmt.Sprintf("status %d", int(s)) }
func (s statusErr) HTTPStatus() int { return int(s) }

func TestLMSStatus(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{fmt.Errorf("wrapped: %w", statusErr(429)), "429"},
		{statusErr(503), "5xx"},
		{statusErr(404), "4xx"},
		{statusErr(200), "error"},
		{RetryAfter(errors.New("slow down"), time.Second), "429"},
		{fmt.Errorf("x: %w", ErrNotFound), "4xx"},
		{fmt.Errorf("x: %w", ErrUnavailable), "unavailable"},
		{Permanent(errors.New("no")), "error"},
		{errors.New("other"), "error"},
	} {
		if got := requestStatusNames[lmsStatus(c.err)]; got != c.want {
			t.Errorf("lmsStatus(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}

func TestWebhookReason(t *testing.T) {
	t.Parallel()
	for code, want := range map[int]string{200: "ok", 204: "ok", 400: "malformed", 401: "signature", 403: "signature",
		405: "method", 413: "too_large", 429: "busy", 503: "busy", 500: "not_queued", 302: "other", 404: "other"} {
		if got := webhookReason(code); got != want {
			t.Errorf("webhookReason(%d) = %s, want %s", code, got, want)
		}
	}
}

// TestMetricsHotPathAllocs: counting a finished batch allocates nothing without a provider, and
// nothing of ours with the SDK (the SDK's own aggregation allocates nothing for a known set).
func TestMetricsHotPathAllocs(t *testing.T) {
	jobs := []Job{{JobSpec: JobSpec{Kind: JobContact}, EnqueuedAt: time.Unix(100, 0)}, {JobSpec: JobSpec{Kind: JobInbound}, EnqueuedAt: time.Unix(100, 0)}}
	now := time.Unix(101, 0)
	ctx := context.Background()
	for name, m := range map[string]*metrics{
		"noop": newMetrics(nil),
		"sdk":  newMetrics(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))),
	} {
		m.finished(ctx, jobs, actAck, now) // the SDK makes each series on first use
		m.request(ctx, svcHubSpot, req429)
		if n := testing.AllocsPerRun(100, func() {
			m.finished(ctx, jobs, actAck, now)
			m.request(ctx, svcHubSpot, req429)
		}); n != 0 {
			t.Errorf("%s: %v allocations per batch, want 0", name, n)
		}
	}
}

// TestMetricsCounts: jobs, latency and requests land in the SDK with the expected attributes.
func TestMetricsCounts(t *testing.T) {
	t.Parallel()
	r := sdkmetric.NewManualReader()
	m := newMetrics(sdkmetric.NewMeterProvider(sdkmetric.WithReader(r)))
	ctx := context.Background()
	jobs := []Job{{JobSpec: JobSpec{Kind: JobContact}, EnqueuedAt: time.Unix(100, 0)}, {JobSpec: JobSpec{Kind: "odd"}}}
	m.finished(ctx, jobs, actAck, time.Unix(102, 0))
	m.finished(ctx, jobs[:1], actKill, time.Unix(102, 0))
	m.request(ctx, svcHubSpot, httpStatus(429))
	m.request(ctx, svcLMS, lmsStatus(nil))
	var rm metricdata.ResourceMetrics
	if err := r.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			if d, ok := mt.Data.(metricdata.Sum[int64]); ok {
				for _, p := range d.DataPoints {
					k, _ := p.Attributes.Value("kind")
					o, _ := p.Attributes.Value("outcome")
					s, _ := p.Attributes.Value("service")
					st, _ := p.Attributes.Value("status")
					got[mt.Name+"|"+k.String()+o.String()+s.String()+st.String()] = p.Value
				}
			}
			if d, ok := mt.Data.(metricdata.Histogram[float64]); ok {
				for _, p := range d.DataPoints {
					dir, _ := p.Attributes.Value("direction")
					if dir.String() != "to_hubspot" || p.Count != 1 || p.Sum != 2 {
						t.Errorf("latency point %s: count %d sum %v, want to_hubspot 1 and 2 s", dir.String(), p.Count, p.Sum)
					}
				}
			}
		}
	}
	for k, v := range map[string]int64{
		"hubsync.jobs|contactdone": 1, "hubsync.jobs|otherdone": 1, "hubsync.jobs|contactdead": 1,
		"hubsync.requests|hubspot429": 1, "hubsync.requests|lmsok": 1,
	} {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}
