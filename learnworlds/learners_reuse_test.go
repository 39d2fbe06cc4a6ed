package learnworlds_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/hubsynctest"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// TestUpdateReusesAFreshRead: a write right after the adapter read the learner (a page, a
// GetByEmail) costs one call, not two; a stale read, a read already written over, or a webhook
// about the learner makes it read again; and under both possible PUT semantics (fields merged or
// replaced whole) every field the write does not own is kept.
func TestUpdateReusesAFreshRead(t *testing.T) {
	t.Parallel()
	for _, sem := range []string{"merged", "replaced"} {
		t.Run(sem, func(t *testing.T) {
			t.Parallel()
			opts := []learnworldstest.Option{}
			if sem == "replaced" {
				opts = append(opts, learnworldstest.WithFieldsReplaced())
			}
			clk := clock.NewFake(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
			s := newFake(t, append(opts, learnworldstest.WithClock(clk))...)
			if err := s.DefineField("skill", learnworldstest.FieldRule{Type: "string"}); err != nil {
				t.Fatal(err)
			}
			ann, _ := s.AddUser(learnworldstest.User{Email: "ann@example.com", Username: "ann", Fields: map[string]any{"bio": "hi", "cf_skill": "Go", "phone": "1"}})
			l, err := learnworlds.NewLearners(map[hubsync.SchoolID]learnworlds.School{
				school: {Client: newClient(t, s, func(c *learnworlds.Config) { c.Clock = clk }), Catalog: testCatalog},
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			drive(ctx, clk) // the client's rate limiter waits on clk (microseconds at the test's limit)
			calls := func(what string, want int, do func()) {
				t.Helper()
				before := s.Stats().Requests
				do()
				if got := s.Stats().Requests - before; got != want {
					t.Fatalf("%s: %d calls, want %d", what, got, want)
				}
			}
			update := func(values map[string]any) {
				t.Helper()
				if _, err := l.Update(ctx, school, ann.ID, values); err != nil {
					t.Fatal(err)
				}
			}
			fields := func(want map[string]any) {
				t.Helper()
				u, _ := s.User(ann.ID)
				if d := cmp.Diff(want, u.Fields); d != "" {
					t.Fatalf("the learner's fields (-want +got):\n%s", d)
				}
			}
			if _, err := l.ListPage(ctx, school, ""); err != nil { // also mints the token
				t.Fatal(err)
			}

			calls("a write right after the page", 1, func() { update(map[string]any{"phone": "2"}) })
			fields(map[string]any{"bio": "hi", "cf_skill": "Go", "phone": "2"})
			calls("a second write (what was read is written over)", 2, func() { update(map[string]any{"cf_skill": "Rust"}) })
			fields(map[string]any{"bio": "hi", "cf_skill": "Rust", "phone": "2"})

			if _, err := l.GetByEmail(ctx, school, "ann@example.com"); err != nil {
				t.Fatal(err)
			}
			clk.Advance(learnworlds.ReuseReadsDefault + time.Second)
			calls("a write after the read went stale", 2, func() { update(map[string]any{"phone": "3"}) })
			fields(map[string]any{"bio": "hi", "cf_skill": "Rust", "phone": "3"})

			// The learner changes in the school after the page was read; its webhook says so, and
			// the write reads again, keeping the school's change.
			if _, err := l.ListPage(ctx, school, ""); err != nil {
				t.Fatal(err)
			}
			hooks := webhookEndpoint(t, l)
			s.SetWebhook(hooks, webhookSecret, false)
			if _, err := s.Update(ctx, ann.ID, func(u *learnworldstest.User) { u.Fields["bio"] = "edited in the school" }); err != nil {
				t.Fatal(err)
			}
			if d := s.Deliveries(); len(d) != 1 || d[0].Status != http.StatusOK {
				t.Fatalf("the webhook about the change: %+v", d)
			}
			s.SetWebhook("", "", false)
			calls("a write after a webhook about the learner", 2, func() { update(map[string]any{"phone": "4"}) })
			fields(map[string]any{"bio": "edited in the school", "cf_skill": "Rust", "phone": "4"})
		})
	}
}

const webhookSecret = "reuse-test-secret"

// webhookEndpoint serves l's EngineWebhooks for school, feeding an engine on an in-memory store,
// and returns its URL.
func webhookEndpoint(t *testing.T, l *learnworlds.Learners) string {
	t.Helper()
	hs := hubspottest.NewServer()
	t.Cleanup(hs.Close)
	store := hubsynctest.NewMemStore()
	eng, err := hubsync.New(hubsync.Config{
		Store: store, Queue: store, Learners: l,
		HubSpot: hubsync.HubSpotApp{ClientID: hs.ClientID(), ClientSecret: hs.ClientSecret(), BaseURL: hs.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.EngineWebhooks(school, learnworlds.Verifier{Secret: webhookSecret}, eng, store, nil))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestUpdateReadsEveryTimeWhenReuseIsOff: a negative ReuseReadsFor reads before every write.
func TestUpdateReadsEveryTimeWhenReuseIsOff(t *testing.T) {
	t.Parallel()
	s := newFake(t, learnworldstest.WithFieldsReplaced())
	ann, _ := s.AddUser(learnworldstest.User{Email: "ann@example.com", Username: "ann", Fields: map[string]any{"bio": "hi"}})
	l, err := learnworlds.NewLearners(map[hubsync.SchoolID]learnworlds.School{
		school: {Client: newClient(t, s, nil), Catalog: testCatalog, ReuseReadsFor: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := l.ListPage(ctx, school, ""); err != nil {
		t.Fatal(err)
	}
	before := s.Stats().Requests
	if _, err := l.Update(ctx, school, ann.ID, map[string]any{"phone": "2"}); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().Requests - before; got != 2 {
		t.Fatalf("a write with reuse off: %d calls, want 2 (a read and the write)", got)
	}
	if u, _ := s.User(ann.ID); u.Fields["bio"] != "hi" || u.Fields["phone"] != "2" {
		t.Fatalf("fields after the write: %v", u.Fields)
	}
}
