package hubsync_test

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/seal"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

// TestAnUnreadableSchoolStopsOnlyItself: another school in the same store has tokens sealed under
// a key this engine was not given (a shared database, a key left out at a restart). This school's
// webhooks and work go on; the other's work waits, uncounted, instead of failing attempts; and a
// webhook for a portal that no readable school is connected to is refused (500, so HubSpot
// redelivers it), not dropped as nobody's, since it may be the unreadable school's.
func TestAnUnreadableSchoolStopsOnlyItself(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	path := filepath.Join(t.TempDir(), "hubsync.db")
	s, err := sqlitestore.Open(h.ctx, path, sqlitestore.WithClock(h.clk))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	h.eng = h.engine(h.config(s, h.lms))
	h.connect()
	h.settings(hubsync.Settings{Mode: hubsync.ModeTwoWay, Mappings: inboundMapping})
	hookURL := h.withWebhooks()

	// The other school, written by a process that had a key.
	key, err := seal.NewKey("elsewhere", bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := sqlitestore.Open(h.ctx, path, sqlitestore.WithClock(h.clk), sqlitestore.WithSealer(ring))
	if err != nil {
		t.Fatal(err)
	}
	const other = hubsync.SchoolID("other-school")
	err = sealed.PutConnection(h.ctx, hubsync.Connection{School: other, PortalID: 999, Active: true, ConnectedAt: h.clk.Now(),
		Token: hubsync.Token{AccessToken: "other-access", RefreshToken: "other-refresh", Expiry: h.clk.Now().Add(time.Hour)}})
	sealed.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.eng.LearnerChanged(h.ctx, other, hubsync.Learner{Email: "kim@other.example", Values: map[string]any{"country": "CY"}}); err != nil {
		t.Fatal(err)
	}

	// This school's HubSpot edit still lands, and its own change still goes out.
	h.lms.Put(school, hubsync.Learner{Email: "ann@school.example", Username: "ann", Values: map[string]any{"country": "GR"}})
	h.admin("ann@school.example", map[string]string{"country": "FR"})
	h.flush()
	if err := h.eng.LearnerChanged(h.ctx, school, hubsync.Learner{Email: "bob@school.example", Values: map[string]any{"country": "IT"}}); err != nil {
		t.Fatal(err)
	}
	h.run()
	if l, _ := h.lms.Get(school, "ann@school.example"); l.Values["country"] != "FR" {
		t.Fatalf("this school's HubSpot edit did not land: %v", l.Values)
	}
	if c := h.contact("bob@school.example"); c["country"] != "IT" {
		t.Fatalf("this school's change did not reach HubSpot: %v", c)
	}
	// The other school's job waits, paused, with no attempt counted against it.
	st, err := s.Stats(h.ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if st.Dead != 0 || st.Ready+st.Scheduled != 1 {
		t.Fatalf("the unreadable school's queue: %+v, want its one job waiting", st)
	}
	h.clk.Advance(2 * time.Minute)
	h.run()
	jobs, err := s.Dequeue(h.ctx, hubsync.DequeueOptions{Worker: "test", Max: 10})
	if err != nil || len(jobs) != 1 || jobs[0].School != other || jobs[0].Attempts != 0 {
		t.Fatalf("the unreadable school's job: %+v (err %v), want it waiting with 0 attempts", jobs, err)
	}

	// A webhook for the unreadable school's portal (or any portal no readable school has).
	hs2 := hubspottest.NewServer(hubspottest.WithClock(h.clk), hubspottest.WithPortal(999, "other.example"))
	t.Cleanup(hs2.Close)
	hs2.SetWebhookTarget(hookURL)
	if _, err := hs2.AdminUpsertContact("kim@other.example", map[string]string{"country": "MT"}, hubspottest.SourceCRMUI); err != nil {
		t.Fatal(err)
	}
	if err := hs2.FlushWebhooks(h.ctx); err == nil {
		t.Fatal("a webhook for a portal only an unreadable school may own was accepted; want it refused so HubSpot redelivers it")
	}
}
