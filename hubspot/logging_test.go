package hubspot_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/hubspot"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

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

// TestLogsAndErrorsHideSecrets retries a call whose path holds an email, and checks that neither
// the debug log nor the error shows the email, the access token or the client secret.
func TestLogsAndErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	var buf lockedBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clk := clock.NewFake(time.Time{})
	f := newFixture(t, hubspot.DefaultVersion, []hubspottest.Option{hubspottest.WithClock(clk)}, hubspot.WithLogger(logger))
	autoAdvance(t, clk)
	if _, err := f.srv.SeedContact(map[string]string{"email": "secret.person@example.com"}); err != nil {
		t.Fatal(err)
	}
	f.srv.InjectFault(hubspottest.Fault{Status: 503, Times: 50})
	_, err := f.client.GetContactByEmail(ctxT(t), "secret.person@example.com", nil)
	if err == nil {
		t.Fatal("want the 503 after retries")
	}
	out := buf.String() + err.Error()
	if !strings.Contains(buf.String(), "retryable answer") {
		t.Fatalf("no retry was logged: %s", buf.String())
	}
	for _, secret := range []string{"secret.person@", f.srv.ClientSecret(), "access-"} {
		if strings.Contains(out, secret) {
			t.Fatalf("%q leaked into logs or error:\n%s", secret, out)
		}
	}
}
