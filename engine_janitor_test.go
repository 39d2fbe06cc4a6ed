package hubsync_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/hubsynctest"
)

// retentionStore opens an empty store of kind ("memory", "sqlite", "postgres": skipped without
// TEST_DATABASE_URL) on clk.
func retentionStore(t *testing.T, kind string, clk clock.Clock) storeQueue {
	t.Helper()
	if kind == "memory" {
		return hubsynctest.NewMemStore(hubsynctest.WithMemClock(clk))
	}
	s, _ := sharedStores(t, kind, clk)
	return s
}

var storeKinds = []string{"memory", "sqlite", "postgres"}

// bareEngine is an engine over s that never reaches HubSpot: enough for Record, Prune and the
// janitor.
func bareEngine(t *testing.T, s storeQueue, clk clock.Clock, r hubsync.Retention, log *slog.Logger) *hubsync.Engine {
	t.Helper()
	if log == nil {
		log = testLogger(t)
	}
	eng, err := hubsync.New(hubsync.Config{
		Store: s, Queue: s, Learners: hubsynctest.NewLearners(0), Clock: clk, Logger: log, Retention: r,
		HubSpot: hubsync.HubSpotApp{ClientID: "client", ClientSecret: "secret"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

func TestRetentionIsValidated(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		r    hubsync.Retention
		want string // "" for valid
	}{
		{"zero is the defaults", hubsync.Retention{}, ""},
		{"webhooks at the floor", hubsync.Retention{Webhooks: hubsync.WebhookRetentionMin}, ""},
		{"webhooks inside HubSpot's retry window", hubsync.Retention{Webhooks: 24 * time.Hour}, "Config.Retention.Webhooks is 24h0m0s"},
		{"webhooks negative", hubsync.Retention{Webhooks: -time.Hour}, "Config.Retention.Webhooks is -1h0m0s"},
		{"sync log forever", hubsync.Retention{SyncLog: -1}, ""},
		{"sync log in the wrong unit", hubsync.Retention{SyncLog: 30}, "Config.Retention.SyncLog is 30ns"},
		{"no janitor", hubsync.Retention{Every: -1}, ""},
		{"janitor spinning", hubsync.Retention{Every: time.Second}, "Config.Retention.Every is 1s"},
		{"no cap", hubsync.Retention{MaxQueuedEvents: -1}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := hubsync.New(hubsync.Config{
				Store: hubsynctest.NewMemStore(), Queue: hubsynctest.NewMemStore(), Learners: hubsynctest.NewLearners(0),
				HubSpot: hubsync.HubSpotApp{ClientID: "client", ClientSecret: "secret"}, Retention: c.r,
			})
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("New with %+v: %v", c.r, err)
			case c.want != "" && (!errors.Is(err, hubsync.ErrInvalidSettings) || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("New with %+v: err = %v, want one wrapping ErrInvalidSettings and saying %q", c.r, err, c.want)
			}
		})
	}
}

// TestPruneEndsWebhookDedupeAndOldLogsOnly: a HubSpot webhook redelivered after
// Retention.Webhooks and a Prune is processed again, one redelivered inside it is still dropped,
// and Prune deletes the sync log entries older than Retention.SyncLog and keeps every newer one.
func TestPruneEndsWebhookDedupeAndOldLogsOnly(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			s := retentionStore(t, kind, h.clk)
			eng := h.engine(h.config(s, h.lms))
			au, err := eng.AuthorizeURL(school)
			if err != nil {
				t.Fatal(err)
			}
			pu, _ := url.Parse(au)
			if _, err := eng.CompleteConnect(h.ctx, school, h.hs.AuthorizeCode(redirect), pu.Query().Get("state")); err != nil {
				t.Fatal(err)
			}
			if _, err := eng.SaveSettings(h.ctx, school, hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping}); err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			u := srv.URL + "/hubspot/webhooks"
			mux.Handle("/hubspot/webhooks", eng.HubSpotWebhooks(hubsync.WebhookOptions{PublicURL: u}))

			contact := func(email string) string {
				h.lms.Put(school, hubsync.Learner{Email: email, Values: map[string]any{"country": "GR"}})
				id, err := h.hs.SeedContact(map[string]string{"email": email, "country": "PT"})
				if err != nil {
					t.Fatal(err)
				}
				return id
			}
			// deliver posts body as HubSpot signs a delivery now, and returns how many jobs it
			// made.
			deliver := func(what, body string) int {
				t.Helper()
				resp, err := http.DefaultClient.Do(signed(t, h, u, []byte("["+body+"]"), h.clk.Now()))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: HTTP %d", what, resp.StatusCode)
				}
				n, err := eng.RunOnce(h.ctx)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			prune := func(wantHooks int) (logs int) {
				t.Helper()
				hooks, logs, err := eng.Prune(h.ctx)
				if err != nil {
					t.Fatal(err)
				}
				if hooks != wantHooks {
					t.Fatalf("Prune forgot %d webhook records, want %d", hooks, wantHooks)
				}
				return logs
			}

			old := event(h.hs.PortalID(), 1, contact("old@school.example"), "country", "PT", h.clk.Now())
			if n := deliver("first delivery of the old event", old); n != 1 {
				t.Fatalf("the old event made %d jobs, want 1", n)
			}
			h.clk.Advance(48 * time.Hour)
			recent := event(h.hs.PortalID(), 2, contact("recent@school.example"), "country", "PT", h.clk.Now())
			if n := deliver("first delivery of the recent event", recent); n != 1 {
				t.Fatalf("the recent event made %d jobs, want 1", n)
			}
			h.clk.Advance(25 * time.Hour) // the old event was seen 73 h ago, the recent one 25 h ago
			if n := deliver("old event before the prune", old); n != 0 {
				t.Fatalf("before any prune, a redelivered event made %d jobs, want 0", n)
			}
			// The old delivery's record goes, and so does the connect's used OAuth state (also 73 h old).
			if logs := prune(2); logs != 0 {
				t.Fatalf("Prune forgot %d sync log entries younger than %v", logs, hubsync.SyncLogRetentionDefault)
			}
			if n := deliver("old event after the prune", old); n != 1 {
				t.Fatalf("an event redelivered past the retention made %d jobs, want 1 (it is new again)", n)
			}
			if n := deliver("recent event after the prune", recent); n != 0 {
				t.Fatalf("an event redelivered inside the retention made %d jobs, want 0", n)
			}

			before, err := s.ListSyncLog(h.ctx, school, hubsync.LogFilter{Limit: 1000})
			if err != nil || len(before) == 0 {
				t.Fatalf("sync log before the last prune: %d entries, %v; want some", len(before), err)
			}
			h.clk.Set(before[len(before)-1].At.Add(hubsync.SyncLogRetentionDefault + time.Hour))
			cut := h.clk.Now().Add(-hubsync.SyncLogRetentionDefault)
			var wantGone int
			for _, en := range before {
				if en.At.Before(cut) {
					wantGone++
				}
			}
			if wantGone == 0 || wantGone == len(before) {
				t.Fatalf("the test needs entries on both sides of the cut %v: %d of %d are older", cut, wantGone, len(before))
			}
			if logs := prune(2); logs != wantGone { // the recent record, and the old one seen again
				t.Fatalf("Prune forgot %d sync log entries, want the %d older than %v", logs, wantGone, cut)
			}
			after, err := s.ListSyncLog(h.ctx, school, hubsync.LogFilter{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(before)-wantGone {
				t.Fatalf("%d sync log entries left, want %d", len(after), len(before)-wantGone)
			}
			for _, en := range after {
				if en.At.Before(cut) {
					t.Fatalf("entry at %v is older than the cut %v and was kept", en.At, cut)
				}
			}
		})
	}
}

// TestJanitorPrunesOnItsTimer: the janitor prunes when it starts, then once per Retention.Every
// of the engine's clock.
func TestJanitorPrunesOnItsTimer(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	s := hubsynctest.NewMemStore(hubsynctest.WithMemClock(clk))
	eng := bareEngine(t, s, clk, hubsync.Retention{SyncLog: 48 * time.Hour}, nil)
	ctx := t.Context()
	mark := func(id string, at time.Time) bool {
		t.Helper()
		first, err := s.MarkWebhookSeen(ctx, "hubspot", id, at)
		if err != nil {
			t.Fatal(err)
		}
		return first
	}
	mark("old", t0)
	mark("recent", t0.Add(71*time.Hour))
	entry := func(at time.Time) hubsync.SyncLogEntry {
		return hubsync.SyncLogEntry{School: school, At: at, Direction: hubsync.DirectionToHubSpot, Email: "a@school.example", Outcome: hubsync.OutcomeUpdated}
	}
	if err := s.AppendSyncLog(ctx, entry(t0), entry(t0.Add(71*time.Hour))); err != nil {
		t.Fatal(err)
	}
	logLen := func() int {
		t.Helper()
		l, err := s.ListSyncLog(ctx, school, hubsync.LogFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return len(l)
	}

	jctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); hubsync.RunJanitor(jctx, eng) }()
	// The janitor waits on its timer only after its first pass, which finds nothing to prune yet.
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if d, _ := clk.NextDeadline(); !d.Equal(t0.Add(hubsync.JanitorEveryDefault)) {
		t.Fatalf("the janitor's next pass is at %v, want %v", d, t0.Add(hubsync.JanitorEveryDefault))
	}
	if n := logLen(); n != 2 {
		t.Fatalf("the first pass left %d log entries, want 2", n)
	}
	// 72 h later the timer fires once: that pass prunes at the clock's time then.
	clk.Advance(72*time.Hour + time.Minute)
	if err := clk.BlockUntil(ctx, 1); err != nil { // re-armed: the pass is done
		t.Fatal(err)
	}
	if n := logLen(); n != 1 {
		t.Fatalf("after the timed pass %d log entries are left, want 1 (the one younger than 48 h)", n)
	}
	if !mark("old", clk.Now()) {
		t.Fatal("the dedupe record older than 72 h survived the timed pass")
	}
	if mark("recent", clk.Now()) {
		t.Fatal("the dedupe record younger than 72 h was pruned")
	}
	stop()
	<-done

	// Every < 0: no janitor.
	off := bareEngine(t, s, clk, hubsync.Retention{Every: -1}, nil)
	hubsync.RunJanitor(ctx, off) // returns at once
}

// signalHandler passes the records with one message to a channel, and drops the rest.
type signalHandler struct {
	msg string
	ch  chan slog.Record
}

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h signalHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.ch <- r.Clone()
	}
	return nil
}
func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h signalHandler) WithGroup(string) slog.Handler      { return h }

// TestRunStartsTheJanitor: Run prunes at once when it starts, logging the counts at Debug, and
// returns only after the janitor stopped.
func TestRunStartsTheJanitor(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	s := hubsynctest.NewMemStore(hubsynctest.WithMemClock(clk))
	if _, err := s.MarkWebhookSeen(t.Context(), "learnworlds", "old", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendSyncLog(t.Context(), hubsync.SyncLogEntry{School: school, At: t0, Outcome: hubsync.OutcomeFailed, Email: "a@school.example"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(hubsync.SyncLogRetentionDefault + time.Hour)
	passes := make(chan slog.Record, 4)
	eng := bareEngine(t, s, clk, hubsync.Retention{}, slog.New(signalHandler{msg: "hubsync: janitor pass", ch: passes}))
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	r := <-passes
	got := map[string]int64{}
	r.Attrs(func(a slog.Attr) bool { got[a.Key] = a.Value.Int64(); return true })
	if r.Level != slog.LevelDebug || got["webhooks_pruned"] != 1 || got["sync_log_pruned"] != 1 {
		t.Fatalf("janitor pass logged %v %v, want Debug with 1 webhook record and 1 sync log entry pruned", r.Level, got)
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
}

// failingForget is a store whose ForgetSyncLogBefore fails.
type failingForget struct{ storeQueue }

func (failingForget) ForgetSyncLogBefore(context.Context, time.Time) (int, error) {
	return 0, errors.New("disk on fire")
}

func TestPruneNamesTheFailedDeleteAndStillDoesTheOther(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	mem := hubsynctest.NewMemStore(hubsynctest.WithMemClock(clk))
	if _, err := mem.MarkWebhookSeen(t.Context(), "hubspot", "e1", clk.Now()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(hubsync.WebhookRetentionDefault + time.Second)
	eng := bareEngine(t, failingForget{mem}, clk, hubsync.Retention{}, nil)
	hooks, logs, err := eng.Prune(t.Context())
	if err == nil || !strings.Contains(err.Error(), "hubsync: prune sync log entries older than 720h0m0s") || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("Prune error = %v, want one naming the sync log delete and its cause", err)
	}
	if hooks != 1 || logs != 0 {
		t.Fatalf("Prune = %d webhook records, %d log entries; want 1 and 0", hooks, logs)
	}

	// A log kept forever is not even asked.
	eng = bareEngine(t, failingForget{mem}, clk, hubsync.Retention{SyncLog: -1}, nil)
	if _, _, err := eng.Prune(t.Context()); err != nil {
		t.Fatalf("Prune with the log kept forever: %v", err)
	}
}
