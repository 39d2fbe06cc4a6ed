package hubsync_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot"
)

// TestWebhookSignatureVersions checks HubSpotWebhooks accepts only v3 signatures by default, and
// v1 (which carries no timestamp, so allows replays) only with WebhookOptions.AllowV1V2.
func TestWebhookSignatureVersions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	const public = "https://lms.example/hubspot/webhooks"
	body := []byte(`[{"eventId":7,"portalId":1,"occurredAt":1700000000000,"subscriptionType":"contact.creation","objectId":5}]`)
	secret := h.hs.ClientSecret()
	post := func(handler http.Handler, sign func(r *http.Request)) int {
		r := httptest.NewRequest(http.MethodPost, "/hubspot/webhooks", bytes.NewReader(body))
		sign(r)
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		return w.Code
	}
	v1 := func(r *http.Request) {
		r.Header.Set(hubspot.HeaderSignature, hubspot.SignV1(secret, body))
		r.Header.Set(hubspot.HeaderSignatureVersion, "v1")
	}
	v2 := func(r *http.Request) {
		r.Header.Set(hubspot.HeaderSignature, hubspot.SignV2(secret, http.MethodPost, public, body))
		r.Header.Set(hubspot.HeaderSignatureVersion, "v2")
	}
	v3 := func(r *http.Request) {
		ts := strconv.FormatInt(h.clk.Now().UnixMilli(), 10)
		r.Header.Set(hubspot.HeaderSignatureV3, hubspot.SignV3(secret, http.MethodPost, public, body, ts))
		r.Header.Set(hubspot.HeaderTimestamp, ts)
	}
	strict := h.eng.HubSpotWebhooks(hubsync.WebhookOptions{PublicURL: public})
	legacy := h.eng.HubSpotWebhooks(hubsync.WebhookOptions{PublicURL: public, AllowV1V2: true})
	for _, tt := range []struct {
		name    string
		handler http.Handler
		sign    func(*http.Request)
		want    int
	}{
		{"v3 by default", strict, v3, http.StatusOK},
		{"v1 by default", strict, v1, http.StatusUnauthorized},
		{"v2 by default", strict, v2, http.StatusUnauthorized},
		{"v1 allowed", legacy, v1, http.StatusOK},
		{"v2 allowed", legacy, v2, http.StatusOK},
		{"v3 with v1 allowed", legacy, v3, http.StatusOK},
	} {
		if got := post(tt.handler, tt.sign); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestWebhookRefusalLogged checks a refused signature is logged with the remote address, at most
// once per interval, the next line counting the refusals left out, and never with the secret.
func TestWebhookRefusalLogged(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	logs := newLogRecorder() // faults_helpers_test.go
	cfg := h.config(h.store, h.lms)
	cfg.Logger = logs.logger()
	eng := h.engine(cfg)
	handler := eng.HubSpotWebhooks(hubsync.WebhookOptions{PublicURL: "https://lms.example/hooks"})
	forge := func() {
		r := httptest.NewRequest(http.MethodPost, "/hooks", strings.NewReader(`[]`))
		r.RemoteAddr = "203.0.113.9:4711"
		r.Header.Set(hubspot.HeaderSignatureV3, "forged")
		r.Header.Set(hubspot.HeaderTimestamp, strconv.FormatInt(h.clk.Now().UnixMilli(), 10))
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("forged delivery: %d", w.Code)
		}
	}
	h.freeze() // the interval is timed by the harness clock: no automatic advance
	defer h.thaw()
	for range 3 {
		forge()
	}
	if n := strings.Count(logs.all(), "webhook refused"); n != 1 {
		t.Fatalf("%d lines for 3 refusals within the interval, want 1:\n%s", n, logs.all())
	}
	if !strings.Contains(logs.all(), "remote=203.0.113.9:4711") {
		t.Fatalf("the refusal does not name the remote address:\n%s", logs.all())
	}
	h.clk.Advance(11 * time.Second)
	forge()
	if n := strings.Count(logs.all(), "webhook refused"); n != 2 || !strings.Contains(logs.all(), "refusals_not_logged=2") {
		t.Fatalf("after the interval: want a second line counting 2 left out:\n%s", logs.all())
	}
	if strings.Contains(logs.all(), h.hs.ClientSecret()) {
		t.Fatal("the log holds the client secret")
	}
}
