package hubsync_test

import (
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// This file holds what the fault tests (faults_http_test.go, faults_store_test.go) share: a log
// recorder and a harness whose fakes may run on the real clock.

// faultTimeout is the HTTP timeout of the engine's clients in the tests of slow answers. It is
// real time, as a client's timeout is, and short so a timed-out attempt costs little; the fakes of
// those tests run on the real clock, so their Latency and SlowBody outlast it on any machine.
const faultTimeout = 250 * time.Millisecond

// logRecorder captures the engine's log lines (text, debug level) so a test can check that a
// fault left a clear line, and that no line shows an email address or a token.
type logRecorder struct {
	mu   sync.Mutex
	text strings.Builder
}

func newLogRecorder() *logRecorder { return &logRecorder{} }

func (l *logRecorder) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (l *logRecorder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.text.Write(p)
	return len(p), nil
}

// lines returns the lines holding every one of parts.
func (l *logRecorder) lines(parts ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.text.String(), "\n") {
		ok := line != ""
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

// mustHave fails the test unless a line holds every one of parts.
func (l *logRecorder) mustHave(t *testing.T, parts ...string) {
	t.Helper()
	if len(l.lines(parts...)) == 0 {
		t.Errorf("no log line with %q; the log:\n%s", parts, l.all())
	}
}

func (l *logRecorder) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.text.String()
}

// unmasked matches an email address whose local part is not masked (MaskEmail keeps one
// character and puts *** before the @).
var unmasked = regexp.MustCompile(`[A-Za-z0-9._%+-]@[A-Za-z0-9-]+\.`)

// clean fails the test when a line shows a full email address or one of secrets.
func (l *logRecorder) clean(t *testing.T, secrets ...string) {
	t.Helper()
	for _, line := range l.lines() {
		if m := unmasked.FindString(line); m != "" {
			t.Errorf("log line shows an email address (%q): %s", m, line)
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(line, s) {
				t.Errorf("log line shows a secret: %s", line)
			}
		}
	}
}

// faultRig is the harness of the fault tests: the engine logs to a recorder, and the LMS is the
// in-memory one or the LearnWorlds fake over HTTP.
type faultRig struct {
	*harness
	logs *logRecorder
	lw   *learnworldstest.Server // nil unless rigOptions.lw
}

type rigOptions struct {
	// realHubSpot and realLW put that fake on the real clock, so its Latency and SlowBody faults
	// outlast the client's real-time timeout (faultTimeout, then set on that client); the engine's
	// clock still advances by itself. A fake on the real clock has its rate limit off: the
	// client paces itself on the engine's fast fake clock. HubSpot's webhooks need the fake clock
	// (their signatures are checked against it).
	realHubSpot, realLW bool
	lw                  bool // the LMS is the LearnWorlds fake over HTTP
	// store, when set, opens the store the engine uses instead of the harness's.
	store func(h *harness) storeQueue
}

func newFaultRig(t *testing.T, o rigOptions) *faultRig {
	t.Helper()
	var hsOpts []hubspottest.Option
	if o.realHubSpot {
		hsOpts = append(hsOpts, hubspottest.WithClock(clock.Real()), hubspottest.WithRateLimit(0, 0))
	}
	h := newHarness(t, hsOpts...)
	r := &faultRig{harness: h, logs: newLogRecorder()}
	if o.store != nil {
		h.store = o.store(h)
	}
	var learners hubsync.Learners = h.lms
	if o.lw || o.realLW {
		srvClk := clock.Clock(h.clk)
		if o.realLW {
			srvClk = clock.Real()
		}
		r.lw = learnworldstest.NewServer(learnworldstest.WithClock(srvClk))
		t.Cleanup(r.lw.Close)
		cfg := learnworlds.Config{BaseURL: r.lw.URL, ClientID: r.lw.ClientID, ClientSecret: r.lw.ClientSecret, Clock: h.clk, Logger: r.logs.logger()}
		if o.realLW {
			r.lw.SetRateLimit(0, 0)
			cfg.HTTPClient = &http.Client{Timeout: faultTimeout}
		}
		client, err := learnworlds.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		l, err := learnworlds.NewLearners(map[hubsync.SchoolID]learnworlds.School{school: {Client: client}})
		if err != nil {
			t.Fatal(err)
		}
		learners = l
	}
	cfg := h.config(h.store, learners)
	cfg.Logger = r.logs.logger()
	if o.realHubSpot {
		cfg.HubSpot.HTTPClient = &http.Client{Timeout: faultTimeout}
	}
	h.eng = h.engine(cfg)
	return r
}

// runUntil runs the ready work and moves the clock a minute at a time, past pauses and backoffs,
// until done says so and the queue is empty; it fails the test after two hours of fake time.
func (r *faultRig) runUntil(what string, done func() bool) {
	r.t.Helper()
	for range 120 {
		if _, err := r.eng.RunOnce(r.ctx); err != nil {
			r.t.Fatalf("RunOnce: %v", err)
		}
		st, err := r.store.Stats(r.ctx, school)
		if err != nil {
			r.t.Fatal(err)
		}
		if st.Ready+st.Scheduled+st.Leased == 0 && done() {
			return
		}
		r.clk.Advance(time.Minute)
	}
	r.t.Fatalf("still not %s after two hours of fake time; the log:\n%s", what, r.logs.all())
}

// secrets are what no log line may show: the school's tokens and the apps' secrets.
func (r *faultRig) secrets() []string {
	out := []string{r.hs.ClientSecret()}
	if conn, err := r.store.GetConnection(r.ctx, school); err == nil {
		out = append(out, conn.Token.AccessToken, conn.Token.RefreshToken)
	}
	if r.lw != nil {
		out = append(out, r.lw.ClientSecret, strings.Repeat("k", 20)) // the fake's tokens end in k*20
	}
	return out
}

// settled checks the queue holds nothing and dead-lettered nothing.
func (r *faultRig) settled(t *testing.T) {
	t.Helper()
	st, err := r.store.Stats(r.ctx, school)
	if err != nil {
		t.Fatal(err)
	}
	if st.Ready+st.Scheduled+st.Leased+st.Dead != 0 {
		dead, _ := r.store.DeadLetters(r.ctx, school)
		t.Errorf("queue after recovery = %+v (dead letters: %+v)", st, dead)
	}
}

// onceEvents counts the timeline events of kind per contact email.
func (r *faultRig) events(kind hubsync.EventKind) map[string]int {
	n := map[string]int{}
	for _, ev := range r.hs.TimelineEvents() {
		if ev.Properties["kind"] == string(kind) {
			n[hubsync.FoldEmail(ev.Email)]++
		}
	}
	return n
}
