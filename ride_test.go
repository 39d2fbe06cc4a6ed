package hubsync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubsynctest"
)

// upsertLog is a HubSpot transport that records the emails of every batch upsert it carries, one
// list per request, in the order they went out.
type upsertLog struct {
	base http.RoundTripper
	mu   sync.Mutex
	reqs [][]string
}

func (u *upsertLog) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "batch/upsert") && r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		var body struct {
			Inputs []struct {
				ID string `json:"id"`
			} `json:"inputs"`
		}
		if err := json.Unmarshal(b, &body); err == nil {
			var emails []string
			for _, in := range body.Inputs {
				emails = append(emails, strings.ToLower(in.ID))
			}
			u.mu.Lock()
			u.reqs = append(u.reqs, emails)
			u.mu.Unlock()
		}
	}
	return u.base.RoundTrip(r)
}

func (u *upsertLog) requests() [][]string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.reqs)
}

// requireRode fails unless every email of live went out in a request that also carried a learner
// not in live (a page's), and no request carried live learners only.
func requireRode(t *testing.T, reqs [][]string, live []string) {
	t.Helper()
	for _, e := range live {
		found := false
		for _, r := range reqs {
			if !slices.Contains(r, e) {
				continue
			}
			found = true
			page := 0
			for _, x := range r {
				if !slices.Contains(live, x) {
					page++
				}
			}
			if page == 0 {
				t.Errorf("%s went out in a request of %d live changes and no page learner: it did not ride in the page's request", e, len(r))
			}
		}
		if !found {
			t.Errorf("%s was never sent", e)
		}
	}
}

// changeDuringPage is the host's LMS, where learners change while a manual sync reads its pages:
// right after the first page that follows cursor "" is read, each of changes is applied in the
// LMS and announced with LearnerChanged, and a sign-up is recorded.
type changeDuringPage struct {
	hubsync.Learners
	h       *harness
	changes map[string]string // email -> new country
	once    sync.Once
}

func (l *changeDuringPage) ListPage(ctx context.Context, s hubsync.SchoolID, cursor string) (hubsync.LearnerPage, error) {
	page, err := l.Learners.ListPage(ctx, s, cursor)
	if err != nil || cursor == "" {
		return page, err
	}
	l.once.Do(func() {
		for email, country := range l.changes {
			changed := l.h.lms.Put(school, hubsync.Learner{Email: email, Values: map[string]any{"country": country, "first_name": "Changed"}})
			if err := l.h.eng.LearnerChanged(ctx, school, changed); err != nil {
				l.h.t.Error(err)
			}
		}
		if err := l.h.eng.Record(ctx, school, hubsync.Activity{Kind: hubsync.EventSignedUp, Email: "m0007@school.example", SourceID: "ride-1", At: l.h.clk.Now()}); err != nil {
			l.h.t.Error(err)
		}
	})
	return page, nil
}

// TestLiveChangesRideInTheBackfillPages: live changes announced while a school's manual sync
// (LMS -> HubSpot) runs go out in the page's own requests, beside the page's learners, instead
// of requests of their own: a learner already sent by an earlier page, one of the page being
// read (its page copy, read before the change, is older), and one of a later page. Each lands with
// its changed value, the page's counts hold every learner once, the sign-up recorded meanwhile
// is sent after the page, and nothing is left in the queue.
func TestLiveChangesRideInTheBackfillPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seedLearners(h, 450, "GR")
	changes := map[string]string{"m0010@school.example": "FR", "m0250@school.example": "PT", "m0420@school.example": "ES"}
	lms := &changeDuringPage{Learners: h.lms, h: h, changes: changes}
	tr := &upsertLog{base: http.DefaultTransport}
	cfg := h.config(h.store, lms)
	cfg.HubSpot.HTTPClient = &http.Client{Transport: tr}
	h.eng = h.engine(cfg)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping})
	p := h.manual("")
	if p.State != hubsync.ManualDone || p.Done != 450 || p.Failed != 0 || p.Created+p.Updated+p.Unchanged+p.Skipped != 450 {
		t.Fatalf("progress = %+v", p)
	}
	h.run()
	for email, country := range changes {
		if got := h.contact(email)["country"]; got != country {
			t.Errorf("%s: HubSpot country %q, want %s (its live change)", email, got, country)
		}
	}
	if n := len(h.hs.Contacts()); n != 450 {
		t.Fatalf("%d contacts, want 450", n)
	}
	requireRode(t, tr.requests(), slices.Collect(func(yield func(string) bool) {
		for e := range changes {
			if !yield(e) {
				return
			}
		}
	}))
	if n := len(h.hs.TimelineEvents()); n != 1 {
		t.Errorf("%d timeline events, want the 1 sign-up recorded during the sync", n)
	}
	st, err := h.store.Stats(h.ctx, school)
	if err != nil {
		t.Fatal(err)
	}
	if st != (hubsync.QueueStats{}) {
		t.Fatalf("queue after the sync: %+v, want empty", st)
	}
	t.Logf("%d upsert requests for 450 learners and %d live changes", len(tr.requests()), len(changes))
}

// dequeueWatch is the harness's real queue, recording what every live-lane Dequeue (contact jobs,
// any school) returned.
type dequeueWatch struct {
	storeQueue
	mu    sync.Mutex
	calls int
	got   []hubsync.SchoolID // the school of each live-lane Dequeue that leased jobs
}

func (q *dequeueWatch) Dequeue(ctx context.Context, o hubsync.DequeueOptions) ([]hubsync.Job, error) {
	jobs, err := q.storeQueue.Dequeue(ctx, o)
	if len(o.Schools) == 0 && slices.Contains(o.Kinds, hubsync.JobContact) {
		q.mu.Lock()
		q.calls++
		if len(jobs) > 0 {
			q.got = append(q.got, jobs[0].School)
		}
		q.mu.Unlock()
	}
	return jobs, err
}

func (q *dequeueWatch) seen() (int, []hubsync.SchoolID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.calls, slices.Clone(q.got)
}

// blockFirstPage is an LMS whose first page read waits until release is closed, after telling
// reading.
type blockFirstPage struct {
	hubsync.Learners
	once    sync.Once
	onRead  func() // called first
	reading chan struct{}
	release chan struct{}
}

func (l *blockFirstPage) ListPage(ctx context.Context, s hubsync.SchoolID, cursor string) (hubsync.LearnerPage, error) {
	if cursor == "" {
		l.once.Do(func() {
			l.onRead()
			close(l.reading)
			<-l.release
		})
	}
	return l.Learners.ListPage(ctx, s, cursor)
}

// TestLiveLaneLeavesASchoolToItsRunningPage: with Run's workers, a live change announced while the
// school's LMS -> HubSpot page is being worked is not taken by the live lane (its dequeues, woken
// by the change, skip the school), and goes out with the page once it moves on.
func TestLiveLaneLeavesASchoolToItsRunningPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seedLearners(h, 150, "GR")
	// The clock stops while the page's worker waits on the LMS (the harness moves it whenever
	// everything waits, and the page's lease, not renewed here, would run out in fake time).
	var thaw sync.Once
	lms := &blockFirstPage{Learners: h.lms, onRead: h.freeze, reading: make(chan struct{}), release: make(chan struct{})}
	q := &dequeueWatch{storeQueue: h.store}
	tr := &upsertLog{base: http.DefaultTransport}
	cfg := h.config(h.store, lms)
	cfg.Queue = q
	cfg.Lease = time.Hour
	cfg.BatchLinger = -1 // a woken worker dequeues at once, on the stopped clock
	cfg.HubSpot.HTTPClient = &http.Client{Transport: tr}
	h.eng = h.engine(cfg)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping})
	if _, err := h.eng.StartManualSync(h.ctx, school, ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- h.eng.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	var released sync.Once
	release := func() {
		thaw.Do(h.thaw)
		released.Do(func() { close(lms.release) })
	}
	t.Cleanup(release)
	<-lms.reading // the page's job is leased and its worker waits on the LMS
	const ann = "m0042@school.example"
	h.change(hubsync.Learner{Email: ann, Values: map[string]any{"country": "FR", "first_name": "Ann"}})
	before, _ := q.seen()
	for {
		if n, _ := q.seen(); n > before { // the live lane looked at the queue again, woken by the change
			break
		}
		runtime.Gosched()
	}
	if _, got := q.seen(); len(got) > 0 {
		t.Fatalf("the live lane leased jobs of %v while the school's page ran", got)
	}
	release()
	for {
		p, err := h.eng.ManualSync(h.ctx, school)
		if err != nil {
			t.Fatal(err)
		}
		if p.State == hubsync.ManualDone && h.contact(ann)["country"] == "FR" {
			break
		}
		runtime.Gosched()
	}
	requireRode(t, tr.requests(), []string{ann})
}

// failOnce is an LMS whose n-th page read fails once as unavailable (a page retried later).
type failOnce struct {
	hubsync.Learners
	mu    sync.Mutex
	calls int
	n     int
}

func (l *failOnce) ListPage(ctx context.Context, s hubsync.SchoolID, cursor string) (hubsync.LearnerPage, error) {
	l.mu.Lock()
	l.calls++
	fail := l.calls == l.n
	l.mu.Unlock()
	if fail {
		return hubsync.LearnerPage{}, fmt.Errorf("test LMS: %w", hubsync.ErrUnavailable)
	}
	return l.Learners.ListPage(ctx, s, cursor)
}

// TestManualPagesCarryTheirRestIntoFullBatches: an LMS whose pages hold 70 learners (not a
// multiple of HubSpot's batch of 100) is synced in full batches: each page leaves what does not
// fill a batch to the next (in its job), so 450 learners go in 5 requests, every one but the
// last holding 100, where a request per page would take 7. A page read that fails on the way
// (retried later) loses nothing, and after every page the outcome counts sum to the records done.
func TestManualPagesCarryTheirRestIntoFullBatches(t *testing.T) {
	t.Parallel()
	for _, failAt := range []int{0, 4} {
		t.Run(fmt.Sprintf("read %d fails", failAt), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.lms = hubsynctest.NewLearners(70)
			seedLearners(h, 450, "GR")
			lms := &failOnce{Learners: h.lms, n: failAt}
			tr := &upsertLog{base: http.DefaultTransport}
			cfg := h.config(h.store, lms)
			cfg.HubSpot.HTTPClient = &http.Client{Transport: tr}
			var mu sync.Mutex
			var bad []string
			cfg.OnProgress = func(_ hubsync.SchoolID, p hubsync.ManualProgress) {
				if p.Created+p.Updated+p.Unchanged+p.Skipped+p.Failed != p.Done {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("%+v", p))
					mu.Unlock()
				}
			}
			h.eng = h.engine(cfg)
			h.connect()
			h.settings(hubsync.Settings{Mappings: basicMapping})
			p := h.manual("")
			for p.State == hubsync.ManualRunning { // the failed read waits out its retry
				h.run()
				var err error
				if p, err = h.eng.ManualSync(h.ctx, school); err != nil {
					t.Fatal(err)
				}
			}
			if p.State != hubsync.ManualDone || p.Done != 450 || p.Created != 450 || p.PhaseDone != 450 {
				t.Fatalf("progress = %+v", p)
			}
			if len(bad) > 0 {
				t.Fatalf("progress whose outcomes do not sum to Done: %v", bad)
			}
			if n := len(h.hs.Contacts()); n != 450 {
				t.Fatalf("%d contacts, want 450", n)
			}
			reqs := tr.requests()
			var sizes []int
			for _, r := range reqs {
				sizes = append(sizes, len(r))
			}
			if want := []int{100, 100, 100, 100, 50}; !slices.Equal(sizes, want) {
				t.Fatalf("upsert requests of %v learners, want %v", sizes, want)
			}
			st, err := h.store.Stats(h.ctx, school)
			if err != nil {
				t.Fatal(err)
			}
			if st != (hubsync.QueueStats{}) {
				t.Fatalf("queue after the sync: %+v, want empty", st)
			}
		})
	}
}

// pageLog is the harness's real queue, recording the school of every Dequeue that leased a
// manual sync page.
type pageLog struct {
	storeQueue
	mu    sync.Mutex
	pages []hubsync.SchoolID
}

func (q *pageLog) Dequeue(ctx context.Context, o hubsync.DequeueOptions) ([]hubsync.Job, error) {
	jobs, err := q.storeQueue.Dequeue(ctx, o)
	for _, j := range jobs {
		if j.Kind == hubsync.JobManual || j.Kind == hubsync.JobManualCarry {
			q.mu.Lock()
			q.pages = append(q.pages, j.School)
			q.mu.Unlock()
		}
	}
	return jobs, err
}

func (q *pageLog) order() []hubsync.SchoolID {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.pages)
}

// TestBackfillWorkerGoesOnWithItsSchoolOnlyWhenNoOtherWaits: a backfill worker that ran a page
// goes on with the same school's next page only when no other school's page waits for a
// worker. With one backfill worker and two schools backfilling, pages alternate between the
// schools; once one school is done, the other's pages follow one another.
func TestBackfillWorkerGoesOnWithItsSchoolOnlyWhenNoOtherWaits(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const a, b = school, hubsync.SchoolID("school-b")
	q := &pageLog{storeQueue: h.store}
	cfg := h.config(h.store, h.lms)
	cfg.Queue = q
	cfg.BackfillWorkers = 1
	h.eng = h.engine(cfg)
	for _, s := range []hubsync.SchoolID{a, b} {
		h.connectAs(s)
		if _, err := h.eng.SaveSettings(h.ctx, s, hubsync.Settings{Mappings: basicMapping}); err != nil {
			t.Fatal(err)
		}
	}
	seedLearners(h, 600, "GR") // 3 pages of a
	for i := range 1000 {      // 5 pages of b
		h.lms.Put(b, hubsync.Learner{Email: fmt.Sprintf("b%04d@school.example", i), Values: map[string]any{"country": "PT"}})
	}
	for _, s := range []hubsync.SchoolID{a, b} {
		if _, err := h.eng.StartManualSync(h.ctx, s, ""); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- h.eng.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for len(h.hs.Contacts()) < 1600 {
		runtime.Gosched()
	}
	got := q.order()
	want := []hubsync.SchoolID{a, b, a, b, a, b, b, b}
	if got[0] == b {
		want = []hubsync.SchoolID{b, a, b, a, b, a, b, b}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages leased in the order %v, want %v", got, want)
	}
}
