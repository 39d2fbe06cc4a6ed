package hubsync_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
)

// liveDuringRead is the host's LMS, where a learner changes while a manual sync reads its page:
// right after the page is read (the page holds the old value), the learner changes in the LMS and
// another process of the fleet (engine other, on the same store) syncs that live change to HubSpot
// before this page's upsert goes out.
type liveDuringRead struct {
	hubsync.Learners
	h     *harness
	other *hubsync.Engine
	email string
	once  sync.Once
}

func (l *liveDuringRead) ListPage(ctx context.Context, s hubsync.SchoolID, cursor string) (hubsync.LearnerPage, error) {
	page, err := l.Learners.ListPage(ctx, s, cursor)
	if err != nil {
		return page, err
	}
	for _, ln := range page.Learners {
		if ln.Email != l.email {
			continue
		}
		l.once.Do(func() {
			l.h.clk.Advance(time.Millisecond)
			changed := l.h.lms.Put(school, hubsync.Learner{Email: l.email, Values: map[string]any{"country": "FR", "first_name": "Ann"}})
			if err := l.other.LearnerChanged(ctx, school, changed); err != nil {
				l.h.t.Error(err)
				return
			}
			if _, err := l.other.RunOnce(ctx); err != nil {
				l.h.t.Error(err)
			}
		})
	}
	return page, nil
}

// TestManualPageReadBeforeALiveChangeDoesNotOverwriteIt: a manual sync's page, read before a live
// change of one of its learners reached HubSpot, goes out after it; the page's older copy of that
// learner is not written over the change (found by the fleet benchmark: the page's upsert sent the
// old value, and HubSpot kept it until the learner changed again), and every other learner of the
// page is synced.
func TestManualPageReadBeforeALiveChangeDoesNotOverwriteIt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, ann, other string }{
		{"first page", "m0042@school.example", "m0041@school.example"},
		{"page read ahead", "m0142@school.example", "m0141@school.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			manualPageBeforeLiveChange(t, tc.ann, tc.other)
		})
	}
}

func manualPageBeforeLiveChange(t *testing.T, ann, other string) {
	h := newHarness(t)
	seedLearners(h, 150, "GR")
	racy := &liveDuringRead{Learners: h.lms, h: h, email: ann}
	h.eng = h.engine(h.config(h.store, racy))
	racy.other = h.engine(h.config(h.store, h.lms))
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping})
	p := h.manual("")
	if p.State != hubsync.ManualDone || p.Done != 150 {
		t.Fatalf("progress = %+v", p)
	}
	if got := h.contact(ann)["country"]; got != "FR" {
		t.Fatalf("%s: HubSpot country %q after the manual sync, want FR (the live change the page was read before)", ann, got)
	}
	if n := len(h.hs.Contacts()); n != 150 {
		t.Fatalf("%d contacts, want 150", n)
	}
	if got := h.contact(other)["country"]; got != "GR" {
		t.Fatalf("another learner of the page: country %q, want GR", got)
	}
	// The other way round, the same holds: a live copy read before what a page wrote is older
	// than it and is not sent over it.
	if err := h.eng.LearnerChanged(h.ctx, school, hubsync.Learner{Email: ann, Values: map[string]any{"country": "FR", "first_name": "Ann"}}); err != nil {
		t.Fatal(err)
	}
	h.run()
	if got := h.contact(ann)["country"]; got != "FR" {
		t.Fatalf("%s: HubSpot country %q, want FR", ann, got)
	}
}

// liveDuringUpsert is the HTTP transport of a manual sync's engine: just before the page's first
// batch upsert goes out (after the engine read the page's sync states), another process syncs a
// live change of one of the page's learners, whose upsert reaches HubSpot first.
type liveDuringUpsert struct {
	base  http.RoundTripper
	once  sync.Once
	first func()
}

func (t *liveDuringUpsert) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "batch/upsert") {
		t.once.Do(t.first)
	}
	return t.base.RoundTrip(r)
}

// TestManualUpsertRacingALiveChangeIsSettled: the live change's upsert lands in HubSpot before the
// page's, which carries the learner's older copy; the page's engine sees, once HubSpot answered,
// that the learner's sync state was written meanwhile, and reads the learner again from the LMS,
// so HubSpot ends with the change.
func TestManualUpsertRacingALiveChangeIsSettled(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seedLearners(h, 150, "GR")
	const ann = "m0042@school.example"
	other := h.engine(h.config(h.store, h.lms))
	tr := &liveDuringUpsert{base: http.DefaultTransport}
	tr.first = func() {
		h.clk.Advance(time.Millisecond)
		changed := h.lms.Put(school, hubsync.Learner{Email: ann, Values: map[string]any{"country": "FR", "first_name": "Ann"}})
		if err := other.LearnerChanged(h.ctx, school, changed); err != nil {
			t.Error(err)
			return
		}
		if _, err := other.RunOnce(h.ctx); err != nil {
			t.Error(err)
		}
	}
	cfg := h.config(h.store, h.lms)
	cfg.HubSpot.HTTPClient = &http.Client{Transport: tr}
	h.eng = h.engine(cfg)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping})
	p := h.manual("")
	if p.State != hubsync.ManualDone || p.Done != 150 {
		t.Fatalf("progress = %+v", p)
	}
	h.run() // the learner read again
	if got := h.contact(ann)["country"]; got != "FR" {
		t.Fatalf("%s: HubSpot country %q, want FR (the live change that landed while the page's upsert was on its way)", ann, got)
	}
	if n := len(h.hs.Contacts()); n != 150 {
		t.Fatalf("%d contacts, want 150", n)
	}
}

// holdBothWriters is the store of two engines whose batches write one learner's sync state: the
// first write (PutSyncStates or SwapSyncStates) of a batch holding the learner waits until a
// second one has come, then both go on at once. Each writer has looked at the learner's state
// for the last time (prepare, and settle on a store without swaps) before it is held.
type holdBothWriters struct {
	storeQueue
	b       hubsync.SyncStateBatcher
	sw      hubsync.SyncStateSwapper
	email   string
	mu      sync.Mutex
	n       int
	arrived chan struct{} // one send per writer held
	release chan struct{} // closed when the second arrives
}

func (s *holdBothWriters) hold(emails []string) {
	if !slices.Contains(emails, s.email) {
		return
	}
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	if n > 2 {
		return
	}
	s.arrived <- struct{}{}
	if n == 2 {
		close(s.release)
	}
	<-s.release
}

// count is how many writes of the learner's state came.
func (s *holdBothWriters) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *holdBothWriters) GetSyncStates(ctx context.Context, sc hubsync.SchoolID, emails []string) (map[string]hubsync.SyncState, error) {
	return s.b.GetSyncStates(ctx, sc, emails)
}

func (s *holdBothWriters) PutSyncStates(ctx context.Context, states ...hubsync.SyncState) error {
	emails := make([]string, len(states))
	for i, st := range states {
		emails[i] = st.Email
	}
	s.hold(emails)
	return s.b.PutSyncStates(ctx, states...)
}

func (s *holdBothWriters) SwapSyncStates(ctx context.Context, sc hubsync.SchoolID, swaps []hubsync.SyncStateSwap) ([]string, error) {
	emails := make([]string, len(swaps))
	for i, sw := range swaps {
		emails[i] = sw.State.Email
	}
	s.hold(emails)
	return s.sw.SwapSyncStates(ctx, sc, swaps)
}

// TestTwoWritersLookingBeforeEitherStoresKeepTheNewest forces the interleaving that looking
// again before storing (settle) cannot see: a manual sync's page carries a learner's older copy;
// while its upsert is on its way, another process syncs a live change of the learner, whose
// upsert lands first and which is then held right before it stores the learner's state; the
// page's upsert lands (HubSpot now holds the older copy), its engine reaches the same point, and
// both store at once. With the conditional write one of them is refused, reads the learner
// again, and HubSpot ends with the newest copy. Both for a learner new to the engine (neither
// found a state) and for one synced before.
func TestTwoWritersLookingBeforeEitherStoresKeepTheNewest(t *testing.T) {
	t.Parallel()
	for _, known := range []bool{false, true} {
		t.Run(map[bool]string{false: "new learner", true: "known learner"}[known], func(t *testing.T) {
			t.Parallel()
			twoWritersHeldBeforeStoring(t, known)
		})
	}
}

func twoWritersHeldBeforeStoring(t *testing.T, known bool) {
	h := newHarness(t)
	seedLearners(h, 150, "GR")
	const ann = "m0042@school.example"
	hold := &holdBothWriters{storeQueue: h.store, b: h.store.(hubsync.SyncStateBatcher), sw: h.store.(hubsync.SyncStateSwapper),
		email: ann, arrived: make(chan struct{}, 2), release: make(chan struct{})}
	pageCopy := "GR"
	if known {
		h.connect()
		h.settings(hubsync.Settings{Mappings: basicMapping})
		if p := h.manual(""); p.State != hubsync.ManualDone || p.Done != 150 {
			t.Fatalf("first manual sync: progress = %+v", p)
		}
		pageCopy = "ES" // what the second manual sync's page reads
		h.clk.Advance(time.Millisecond)
		h.lms.Put(school, hubsync.Learner{Email: ann, Values: map[string]any{"country": pageCopy, "first_name": "Ann"}})
	}
	live := h.engine(h.config(hold, h.lms))
	liveDone := make(chan struct{})
	tr := &liveDuringUpsert{base: http.DefaultTransport}
	tr.first = func() {
		h.clk.Advance(time.Millisecond)
		changed := h.lms.Put(school, hubsync.Learner{Email: ann, Values: map[string]any{"country": "FR", "first_name": "Ann"}})
		if err := live.LearnerChanged(h.ctx, school, changed); err != nil {
			t.Error(err)
			close(liveDone)
			return
		}
		go func() {
			defer close(liveDone)
			if _, err := live.RunOnce(h.ctx); err != nil {
				t.Error(err)
			}
		}()
		select { // the live change is in HubSpot and its engine about to store the state
		case <-hold.arrived:
		case <-liveDone:
			t.Error("the live change's engine finished without storing the learner's state")
		}
	}
	cfg := h.config(hold, h.lms)
	cfg.HubSpot.HTTPClient = &http.Client{Transport: tr}
	h.eng = h.engine(cfg)
	if !known {
		h.connect()
		h.settings(hubsync.Settings{Mappings: basicMapping})
	}
	p := h.manual("")
	<-liveDone
	if p.State != hubsync.ManualDone || p.Done != 150 {
		t.Fatalf("progress = %+v", p)
	}
	if n := hold.count(); n < 2 {
		t.Fatalf("%d writes of the learner's state, want both writers' held", n)
	}
	h.run() // the learner read again
	if got := h.contact(ann)["country"]; got != "FR" {
		t.Fatalf("%s: HubSpot country %q, want FR (the live change; the page's copy was %s)", ann, got, pageCopy)
	}
	if n := len(h.hs.Contacts()); n != 150 {
		t.Fatalf("%d contacts, want 150", n)
	}
}
