package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// TestServeMetrics drives serve both ways and with a forged HubSpot webhook, then scrapes
// /metrics and checks the counts; /metrics refuses a request without the token.
func TestServeMetrics(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	seedSchool(t, f.lw, 3)
	f.connect(t)
	path := f.writeFile(t, "settings.json", `{"mode": "two_way", "mappings": [
    {"lms_field": "username", "hubspot_property": "firstname", "direction": "to_hubspot"},
    {"lms_field": "country", "hubspot_property": "country", "direction": "both"}]}`)
	if r := f.run(t, "settings", "apply", "-f", path); r.code != 0 {
		t.Fatalf("settings apply: exit %d\n%s", r.code, r.stderr)
	}
	const secret = "metrics-test-webhook-secret"
	const token = "metrics-test-token-0123456789"
	s := f.start(t, "serve", "--listen", "127.0.0.1:0", "--learnworlds-webhook-secret", secret, "--metrics-token", token)
	line := s.waitLine(t, func(l string) bool { return strings.HasPrefix(l, "Serving school") })
	base := line[strings.LastIndex(line, " ")+1:]

	if code, _ := scrapeRaw(t, base, ""); code != http.StatusUnauthorized {
		t.Fatalf("/metrics without a token: %d, want 401", code)
	}
	f.lw.SetWebhook(base+"/learnworlds/webhooks", secret, false)
	f.hs.SetWebhookTarget(base + "/hubspot/webhooks")
	email := learnerEmail(1)
	if _, err := f.lw.Update(t.Context(), email, func(u *learnworldstest.User) { u.Fields["country"] = "CY" }); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the LearnWorlds change in HubSpot", func() bool {
		c, ok := f.hs.Contact(email)
		return ok && c.Properties["country"] == "CY"
	})
	if _, err := f.hs.AdminUpsertContact(email, map[string]string{"country": "MT"}, hubspottest.SourceCRMUI); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the HubSpot change in LearnWorlds", func() bool {
		u, ok := f.lw.User(email)
		return ok && u.Fields["country"] == "MT"
	})
	resp, err := http.Post(base+"/hubspot/webhooks", "application/json", strings.NewReader(`[]`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged webhook: %s", resp.Status)
	}

	var m map[string]float64
	// The LMS-side job is acked just after the LearnWorlds write the test saw.
	waitFor(t, "the inbound job counted", func() bool {
		_, m = scrape(t, base, token)
		return m[`hubsync_jobs_total{kind="inbound",outcome="done"}`] >= 1
	})
	exact := map[string]float64{
		`hubsync_webhooks_total{reason="signature",result="refused",source="hubspot"}`: 1,
		`hubsync_schools{state="connected"}`:                                           1,
		`hubsync_schools{state="lost"}`:                                                0,
	}
	for k, want := range exact {
		if got, ok := m[k]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	for _, k := range []string{
		`hubsync_webhooks_total{reason="ok",result="accepted",source="hubspot"}`,
		`hubsync_webhooks_total{reason="ok",result="accepted",source="learnworlds"}`,
		`hubsync_jobs_total{kind="contact",outcome="done"}`,
		`hubsync_requests_total{service="hubspot",status="ok"}`,
		`hubsync_requests_total{service="lms",status="ok"}`,
		`hubsync_sync_latency_seconds_count{direction="to_hubspot"}`,
		`hubsync_sync_latency_seconds_count{direction="to_lms"}`,
		`hubsync_sync_latency_seconds_bucket{direction="to_hubspot",le="+Inf"}`,
		fmt.Sprintf(`hubsync_hubspot_budget_limit{portal="%d"}`, f.hs.PortalID()),
	} {
		if m[k] < 1 {
			t.Errorf("%s = %v, want at least 1", k, m[k])
		}
	}
	if m[`hubsync_requests_total{service="hubspot",status="429"}`] != 0 {
		t.Errorf("429s counted: %v", m[`hubsync_requests_total{service="hubspot",status="429"}`])
	}
	_, raw := scrapeRaw(t, base, token)
	if strings.Contains(raw, "@") {
		t.Errorf("/metrics holds an email address:\n%s", raw)
	}
	for _, want := range []string{"# TYPE hubsync_jobs_total counter", "# TYPE hubsync_sync_latency_seconds histogram", "# TYPE hubsync_queue_jobs gauge"} {
		if !strings.Contains(raw, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, raw)
		}
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	s.wait(t)
}

func scrapeRaw(t *testing.T, base, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// scrape reads /metrics into sample -> value.
func scrape(t *testing.T, base, token string) (int, map[string]float64) {
	t.Helper()
	code, raw := scrapeRaw(t, base, token)
	return code, parseExposition(t, raw)
}

func parseExposition(t *testing.T, raw string) map[string]float64 {
	t.Helper()
	m := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(raw))
	for sc.Scan() {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", l, err)
		}
		m[l[:i]] = v
	}
	return m
}

// TestPrometheusExposition checks the text format of each instrument kind the engine uses.
func TestPrometheusExposition(t *testing.T) {
	t.Parallel()
	x := newMetricsExporter()
	meter := x.provider.Meter("test")
	ctx := context.Background()
	c, _ := meter.Int64Counter("hubsync.jobs", metric.WithUnit("{job}"), metric.WithDescription("Jobs.\nDone"))
	c.Add(ctx, 2, metric.WithAttributes(attribute.String("kind", "contact"), attribute.String("outcome", "done")))
	c.Add(ctx, 1, metric.WithAttributes(attribute.String("kind", `a"b\c`), attribute.String("outcome", "dead")))
	h, _ := meter.Float64Histogram("hubsync.sync.latency", metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(0.5, 1))
	h.Record(ctx, 0.2)
	h.Record(ctx, 0.7)
	h.Record(ctx, 3)
	g, _ := meter.Int64Gauge("hubsync.manual.running")
	g.Record(ctx, 1, metric.WithAttributes(attribute.String("school", "s1")))
	rec := httptest.NewRecorder()
	x.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	want := `# HELP hubsync_jobs_total Jobs.\nDone
# TYPE hubsync_jobs_total counter
hubsync_jobs_total{kind="a\"b\\c",outcome="dead"} 1
hubsync_jobs_total{kind="contact",outcome="done"} 2
# TYPE hubsync_manual_running gauge
hubsync_manual_running{school="s1"} 1
# TYPE hubsync_sync_latency_seconds histogram
hubsync_sync_latency_seconds_bucket{le="0.5"} 1
hubsync_sync_latency_seconds_bucket{le="1"} 2
hubsync_sync_latency_seconds_bucket{le="+Inf"} 3
hubsync_sync_latency_seconds_sum 3.9
hubsync_sync_latency_seconds_count 3
`
	if got := rec.Body.String(); got != want {
		t.Errorf("exposition:\n%s\nwant:\n%s", got, want)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
}

// failingQueue is a Queue whose Stats fails, as a store that is down.
type failingQueue struct{ hubsync.Queue }

func (failingQueue) Stats(context.Context, hubsync.SchoolID) (hubsync.QueueStats, error) {
	return hubsync.QueueStats{}, errors.New("database is down")
}

// TestHealthAndReadiness: /healthz stays 200 while the store is down and /readyz is 503 then;
// after the engine stops both are 503. /metrics takes either token, and is off without one.
func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	get := func(h http.Handler, path, auth string) (int, string) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, strings.TrimSpace(rec.Body.String())
	}
	const admin, metrics = "admin-token-0123456789", "metrics-token-0123456789"
	var ops opsEndpoints
	mux := http.NewServeMux()
	ops.mount(mux, failingQueue{}, "s", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "m") }), admin, metrics, log)
	if code, body := get(mux, "/healthz", ""); code != 200 || body != `{"ok":true}` {
		t.Errorf("/healthz with the store down: %d %s", code, body)
	}
	if code, body := get(mux, "/readyz", ""); code != 503 || body != `{"error":"store unavailable","ok":false}` {
		t.Errorf("/readyz with the store down: %d %s", code, body)
	}
	for tok, want := range map[string]int{"": 401, "wrong-token-0123456789": 401, admin: 200, metrics: 200} {
		if code, _ := get(mux, "/metrics", tok); code != want {
			t.Errorf("/metrics with %q: %d, want %d", tok, code, want)
		}
	}
	ops.stopped.Store(true)
	if code, _ := get(mux, "/healthz", ""); code != 503 {
		t.Errorf("/healthz after the engine stopped: %d, want 503", code)
	}

	up := http.NewServeMux()
	var ok opsEndpoints
	ok.mount(up, okQueue{}, "s", http.NotFoundHandler(), "", "", log)
	if code, _ := get(up, "/readyz", ""); code != 200 {
		t.Errorf("/readyz with the store up: %d", code)
	}
	if code, _ := get(up, "/metrics", ""); code != 403 {
		t.Errorf("/metrics without any token configured: %d, want 403", code)
	}
}

type okQueue struct{ hubsync.Queue }

func (okQueue) Stats(context.Context, hubsync.SchoolID) (hubsync.QueueStats, error) {
	return hubsync.QueueStats{}, nil
}
