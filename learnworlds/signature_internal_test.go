package learnworlds

import (
	"bytes"
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/internal/logthrottle"
)

// TestVerifyComparesFixedLengths checks Verify never compares the header's value with the secret
// itself: subtle.ConstantTimeCompare returns at once when the lengths differ, so comparing the
// raw values tells a caller timing refusals how long the static secret is. Every comparison must
// be of two SHA-256 digests, whatever the lengths of the secret and of the header.
func TestVerifyComparesFixedLengths(t *testing.T) {
	// Not parallel: the replaced function is package state, and top-level tests that are not
	// parallel run alone.
	var lens [][2]int
	constantTimeCompare = func(a, b []byte) int {
		lens = append(lens, [2]int{len(a), len(b)})
		if string(a) == string(b) {
			return 1
		}
		return 0
	}
	t.Cleanup(func() { constantTimeCompare = origCompare })
	body := []byte(`{"version":2}`)
	for _, secret := range []string{"s", "a-much-longer-static-signature-secret-0123456789"} {
		for _, scheme := range []SignatureScheme{SignatureStatic, SignatureHMACSHA256} {
			v := Verifier{Secret: secret, Scheme: scheme}
			for _, header := range []string{"v1=x", "v1=" + strings.Repeat("y", 200), "v1=,v1=" + secret, v.Sign(body)} {
				_ = v.Verify(header, body)
			}
			if err := v.Verify(v.Sign(body), body); err != nil {
				t.Errorf("scheme %d: own signature refused: %v", scheme, err)
			}
		}
	}
	if len(lens) == 0 {
		t.Fatal("nothing was compared")
	}
	for _, l := range lens {
		if l[0] != sha256.Size || l[1] != sha256.Size {
			t.Fatalf("compared %d bytes with %d: want two %d-byte digests every time", l[0], l[1], sha256.Size)
		}
	}
}

var origCompare = constantTimeCompare

// TestWebhookRefusalLogged checks a refused signature is logged with the remote address, at most
// once per interval (the next line counting those left out), and never with the secret.
func TestWebhookRefusalLogged(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	const secret = "static-webhook-secret"
	h := webhookHandler(Verifier{Secret: secret}, slog.New(slog.NewTextHandler(&logs, nil)), clk, func(context.Context, Event) error { return nil })
	forge := func() {
		r := httptest.NewRequest(http.MethodPost, "/learnworlds/webhooks", strings.NewReader(`{"version":2}`))
		r.RemoteAddr = "198.51.100.7:5555"
		r.Header.Set(SignatureHeader, "v1=guess")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("forged delivery: %d", w.Code)
		}
	}
	for range 3 {
		forge()
	}
	if n := strings.Count(logs.String(), "webhook refused"); n != 1 || !strings.Contains(logs.String(), "remote=198.51.100.7:5555") {
		t.Fatalf("want one line naming the remote address for 3 refusals:\n%s", logs.String())
	}
	clk.Advance(logthrottle.Every)
	forge()
	if n := strings.Count(logs.String(), "webhook refused"); n != 2 || !strings.Contains(logs.String(), "refusals_not_logged=2") {
		t.Fatalf("after the interval: want a second line counting 2 left out:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), secret) {
		t.Fatal("the log holds the secret")
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
