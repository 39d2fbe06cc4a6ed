package hubsync_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubsynctest"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// TestLearnWorldsDownForAnHourDeadLettersNothing: HubSpot contact changes wait for an LMS that
// answers 503 to everything for an hour of fake time. The jobs are tried more often in that hour
// than the queue's ten attempts (the outage backoff tops out at ten minutes), yet nothing is
// dead-lettered, since a release spends no attempt, and every change lands once LearnWorlds is
// back, on SQLite and on PostgreSQL.
func TestLearnWorldsDownForAnHourDeadLettersNothing(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			store, _ := sharedStores(t, kind, h.clk)
			lw, learners := h.learnWorlds()
			eng := h.engine(h.config(store, learners))
			h.eng = eng
			h.connect()
			h.withWebhooks()
			h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping})
			emails := []string{"kim@school.example", "lee@school.example", "max@school.example"}
			for _, e := range emails {
				if _, err := lw.AddUser(learnworldstest.User{Email: e, Fields: map[string]any{"country": "GR"}}); err != nil {
					t.Fatal(err)
				}
			}

			lw.InjectFault(learnworldstest.Fault{Status: 503, Times: -1})
			for _, e := range emails {
				h.admin(e, map[string]string{"country": "FR"})
			}
			h.flush()
			start := h.clk.Now()
			for h.clk.Now().Sub(start) < time.Hour {
				if _, err := eng.RunOnce(h.ctx); err != nil {
					t.Fatal(err)
				}
				st, err := store.Stats(h.ctx, school)
				if err != nil {
					t.Fatal(err)
				}
				if st.Dead != 0 {
					dead, _ := store.DeadLetters(h.ctx, school)
					t.Fatalf("after %v of LMS outage: %d dead letters, the first after %d attempts: %s",
						h.clk.Now().Sub(start), st.Dead, dead[0].Attempts, dead[0].LastError)
				}
				if st.Ready+st.Scheduled+st.Leased == 0 {
					t.Fatalf("after %v of LMS outage the queue is empty: the changes were dropped", h.clk.Now().Sub(start))
				}
				h.clk.Advance(time.Minute)
			}
			if u, _ := lw.User(emails[0]); u.Fields["country"] != "GR" {
				t.Fatalf("a learner changed while LearnWorlds was down: %+v", u)
			}

			lw.ClearFaults()
			h.clk.Advance(hubsync.MaxBackoffDefault) // the school's outage pause ends
			if _, err := eng.RunOnce(h.ctx); err != nil {
				t.Fatal(err)
			}
			for _, e := range emails {
				if u, _ := lw.User(e); u.Fields["country"] != "FR" {
					t.Errorf("%s: country %v after LearnWorlds came back, want FR", e, u.Fields["country"])
				}
			}
			if st, err := store.Stats(h.ctx, school); err != nil || st.Ready+st.Scheduled+st.Leased+st.Dead != 0 {
				t.Fatalf("queue after recovery: %+v, %v", st, err)
			}
		})
	}
}

// hostBackend is a host's own LMS backend (the in-memory one) that answers with the engine's
// control errors where a test says so.
type hostBackend struct {
	*hubsynctest.Learners
	mu        sync.Mutex
	update    map[string]func() error // by email: the error an Update of that learner returns
	catalogue error
}

func (b *hostBackend) Update(ctx context.Context, s hubsync.SchoolID, id string, values map[string]any) (hubsync.Learner, error) {
	b.mu.Lock()
	var fail func() error
	for email, f := range b.update {
		if l, ok := b.Learners.Get(s, email); ok && l.ID == id {
			fail = f
		}
	}
	b.mu.Unlock()
	if fail != nil {
		if err := fail(); err != nil {
			return hubsync.Learner{}, err
		}
	}
	return b.Learners.Update(ctx, s, id, values)
}

func (b *hostBackend) Catalog(ctx context.Context, s hubsync.SchoolID) ([]hubsync.LearnerField, error) {
	b.mu.Lock()
	err := b.catalogue
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return b.Learners.Catalog(ctx, s)
}

// TestHostBackendControlErrors: a host's Learners says "permanent" for one record (it fails alone,
// with its reason, and the batch goes on), "retry after 45 s" (the batch waits 45 s, counting no
// attempt), and "permanent" for the whole catalog (the jobs are dead-lettered at once, replayable).
func TestHostBackendControlErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	backend := &hostBackend{Learners: h.lms, update: map[string]func() error{}}
	eng := h.engine(h.config(h.store, backend))
	h.eng = eng
	h.connect()
	h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping})
	for _, e := range []string{"ann@school.example", "bob@school.example", "cid@school.example"} {
		h.lms.Put(school, hubsync.Learner{Email: e, Values: map[string]any{"country": "GR"}})
	}
	backend.update["ann@school.example"] = func() error { return hubsync.Permanent(errors.New("learner is archived")) }
	busy := true
	backend.update["bob@school.example"] = func() error {
		if busy {
			busy = false
			return hubsync.RetryAfter(errors.New("backend busy"), 45*time.Second)
		}
		return nil
	}
	for _, e := range []string{"ann@school.example", "bob@school.example", "cid@school.example"} {
		h.admin(e, map[string]string{"country": "FR"})
	}
	h.flush()
	h.run()
	if l, _ := h.lms.Get(school, "bob@school.example"); l.Values["country"] != "GR" {
		t.Fatalf("bob written despite RetryAfter: %+v", l)
	}
	h.clk.Advance(46 * time.Second)
	h.run()
	for email, want := range map[string]string{"ann@school.example": "GR", "bob@school.example": "FR", "cid@school.example": "FR"} {
		if l, _ := h.lms.Get(school, email); l.Values["country"] != want {
			t.Errorf("%s: country %v, want %s", email, l.Values["country"], want)
		}
	}
	failed, err := h.store.ListSyncLog(h.ctx, school, hubsync.LogFilter{Outcome: hubsync.OutcomeFailed, Email: "ann@school.example"})
	if err != nil || len(failed) == 0 || !strings.Contains(failed[0].Reason, "learner is archived") {
		t.Fatalf("ann's failure not logged with its reason: %+v, %v", failed, err)
	}
	if st, _ := h.store.Stats(h.ctx, school); st.Ready+st.Scheduled+st.Leased+st.Dead != 0 {
		t.Fatalf("queue after per-record failures: %+v", st)
	}

	// The catalog is refused for good: the batch is dead-lettered at once, with the reason.
	backend.catalogue = hubsync.Permanent(errors.New("school archived"))
	h.admin("cid@school.example", map[string]string{"country": "IT"})
	h.flush()
	h.run()
	dead, err := h.store.DeadLetters(h.ctx, school)
	if err != nil || len(dead) != 1 || dead[0].Attempts != 1 || !strings.Contains(dead[0].LastError, "school archived") {
		t.Fatalf("dead letters = %+v, %v; want the one job, killed on its first attempt", dead, err)
	}
	backend.catalogue = nil
	if err := h.store.Replay(h.ctx, dead[0].ID); err != nil {
		t.Fatal(err)
	}
	h.run()
	if l, _ := h.lms.Get(school, "cid@school.example"); l.Values["country"] != "IT" {
		t.Fatalf("replayed job did not apply: %+v", l)
	}
}

// TestLMSRateLimitBurstRecoversWithinItsWindow: a long burst of LearnWorlds 429s (no Retry-After,
// as LearnWorlds sends them) holds 20 HubSpot -> LMS changes back; once it is over they land
// within about 45 s of fake time (one 10 s window of pause, the 40 requests' own budget at 30 per
// 10 s, one retry inside the client), not after a backoff that grew with every 429 (which took
// more than an hour here).
func TestLMSRateLimitBurstRecoversWithinItsWindow(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	lw, learners := h.learnWorlds()
	eng := h.engine(h.config(h.store, learners))
	h.eng = eng
	h.connect()
	h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping})
	const n, burst = 20, 300
	if err := lw.Seed(n, func(i int, u *learnworldstest.User) { u.Fields = map[string]any{"country": "GR"} }); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		h.admin(fmt.Sprintf("learner%d@example.com", i), map[string]string{"country": "FR"})
	}
	h.flush()
	lw.InjectFault(learnworldstest.Fault{Status: 429, Times: burst})
	landed := func() int {
		c := 0
		for i := range n {
			if u, _ := lw.User(fmt.Sprintf("learner%d@example.com", i)); u.Fields["country"] == "FR" {
				c++
			}
		}
		return c
	}
	var burstOver time.Time
	for start := h.clk.Now(); landed() < n; h.clk.Advance(time.Second) {
		if _, err := eng.RunOnce(h.ctx); err != nil {
			t.Fatal(err)
		}
		if burstOver.IsZero() && lw.Stats().Faults >= burst {
			burstOver = h.clk.Now()
		}
		if h.clk.Now().Sub(start) > time.Hour {
			t.Fatalf("after an hour %d of %d changes landed", landed(), n)
		}
	}
	if took := h.clk.Now().Sub(burstOver); burstOver.IsZero() || took > 45*time.Second {
		t.Fatalf("after the 429 burst the changes took %v to land, want about a window and the requests' own budget", took)
	}
	if st, _ := h.store.Stats(h.ctx, school); st.Dead != 0 {
		t.Fatalf("dead letters after a 429 burst: %+v", st)
	}
}

// TestInboundWaitsForASchoolThisProcessDoesNotServe: a HubSpot edit of a school whose LearnWorlds
// connection this process does not hold (a serve started with --schools naming others, or a school
// whose LMS side is not connected yet) is not written off as "learner not found": its job waits,
// spending no attempt and leaving no dead letter, and lands once the school is served.
func TestInboundWaitsForASchoolThisProcessDoesNotServe(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	lw, learners := h.learnWorlds()
	eng := h.engine(h.config(h.store, learners))
	h.eng = eng
	h.connect()
	h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping})
	const email = "kim@school.example"
	if _, err := lw.AddUser(learnworldstest.User{Email: email, Fields: map[string]any{"country": "GR"}}); err != nil {
		t.Fatal(err)
	}
	learners.RemoveSchool(school)
	h.admin(email, map[string]string{"country": "FR"})
	h.flush()
	for range 30 {
		if _, err := eng.RunOnce(h.ctx); err != nil {
			t.Fatal(err)
		}
		h.clk.Advance(time.Minute)
	}
	st, err := h.store.Stats(h.ctx, school)
	if err != nil {
		t.Fatal(err)
	}
	if st.Dead != 0 || st.Ready+st.Scheduled+st.Leased == 0 {
		t.Fatalf("after 30 minutes unserved: queue %+v; want the change waiting, nothing dead", st)
	}
	failed, err := h.store.ListSyncLog(h.ctx, school, hubsync.LogFilter{Outcome: hubsync.OutcomeFailed})
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 0 {
		t.Fatalf("the unserved school's change was logged as failed: %+v", failed)
	}

	client, err := learnworlds.New(learnworlds.Config{BaseURL: lw.URL, ClientID: lw.ClientID, ClientSecret: lw.ClientSecret, Clock: h.clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := learners.SetSchool(school, learnworlds.School{Client: client}); err != nil {
		t.Fatal(err)
	}
	for start := h.clk.Now(); h.clk.Now().Sub(start) < time.Hour; h.clk.Advance(time.Minute) {
		if _, err := eng.RunOnce(h.ctx); err != nil {
			t.Fatal(err)
		}
		if u, _ := lw.User(email); u.Fields["country"] == "FR" {
			return
		}
	}
	u, _ := lw.User(email)
	t.Fatalf("an hour after the school was served again: country %v, want FR", u.Fields["country"])
}
