package hubsync_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/hubsynctest"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

const school = hubsync.SchoolID("school-1")

// storeQueue is what the harness needs of its store.
type storeQueue interface {
	hubsync.Store
	hubsync.Queue
}

// recNotifier records connection-lost notifications.
type recNotifier struct {
	mu    sync.Mutex
	calls []string
}

func (n *recNotifier) ConnectionLost(ctx context.Context, s hubsync.SchoolID, to, reason string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = append(n.calls, string(s)+"|"+to)
	return nil
}

func (n *recNotifier) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.calls)
}

type harness struct {
	t     testing.TB
	ctx   context.Context
	clk   *clock.Fake
	hs    *hubspottest.Server
	store storeQueue
	lms   *hubsynctest.Learners
	eng   *hubsync.Engine
	note  *recNotifier
	// gate, held, stops the clock's automatic advance (freeze), for tests that move time
	// themselves.
	gate sync.Mutex
}

// freeze stops the automatic advance of the clock until thaw; the test moves time itself.
func (h *harness) freeze() { h.gate.Lock() }
func (h *harness) thaw()   { h.gate.Unlock() }

const redirect = "https://lms.example/hubspot/callback"

// newHarness wires an engine to the fake HubSpot over real HTTP, the SQLite store and an in-memory LMS, all
// on one fake clock that moves forward whenever everything waits on it (rate-limit pauses,
// backoff), so tests never sleep. hsOpts go to the fake HubSpot after its clock option.
func newHarness(t testing.TB, hsOpts ...hubspottest.Option) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	clk := clock.NewFake(time.Time{})
	hs := hubspottest.NewServer(append([]hubspottest.Option{hubspottest.WithClock(clk)}, hsOpts...)...)
	t.Cleanup(hs.Close)
	// The embedded default store, on the same fake clock.
	store, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "hubsync.db"), sqlitestore.WithClock(clk), sqlitestore.WithSynchronous(sqlitestore.SyncNormal), sqlitestore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h := &harness{t: t, ctx: ctx, clk: clk, hs: hs, store: store, lms: hubsynctest.NewLearners(0), note: &recNotifier{}}
	h.eng = h.engine(h.config(store, h.lms))
	go func() { // advance time whenever something waits on it, unless the test froze it
		for ctx.Err() == nil {
			if clk.BlockUntil(ctx, 1) == nil {
				h.gate.Lock()
				clk.AdvanceToNext()
				h.gate.Unlock()
			}
		}
	}()
	return h
}

// config is the Config of the tests' engines: the fake HubSpot's app, the harness's clock,
// notifier and logger, on store s and the LMS learners. The lease heartbeat, the janitor and the
// periodic reclaim are off: their timers always wait, so the self-advancing clock would jump to
// them while a batch runs (expiring tokens, caches and leases in fake time); the tests of those
// turn them on.
func (h *harness) config(s storeQueue, learners hubsync.Learners) hubsync.Config {
	return hubsync.Config{
		Store: s, Queue: s, Learners: learners, Notifier: h.note, Clock: h.clk, Logger: testLogger(h.t),
		Heartbeat: -1, Reclaim: -1, Retention: hubsync.Retention{Every: -1}, CatchUp: hubsync.CatchUp{Silence: -1},
		HubSpot: hubsync.HubSpotApp{
			ClientID: h.hs.ClientID(), ClientSecret: h.hs.ClientSecret(), AppID: h.hs.AppID(),
			RedirectURL: redirect, BaseURL: h.hs.URL, AuthorizeURL: h.hs.URL + "/oauth/authorize",
		},
	}
}

// engine is hubsync.New(cfg), failing the test on an error.
func (h *harness) engine(cfg hubsync.Config) *hubsync.Engine {
	h.t.Helper()
	e, err := hubsync.New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	return e
}

// learnWorlds starts a fake LearnWorlds on the harness's clock, at its real limits, and returns it
// with the Learners adapter over it for the test school.
func (h *harness) learnWorlds() (*learnworldstest.Server, *learnworlds.Learners) {
	h.t.Helper()
	lw := learnworldstest.NewServer(learnworldstest.WithClock(h.clk))
	h.t.Cleanup(lw.Close)
	client, err := learnworlds.New(learnworlds.Config{BaseURL: lw.URL, ClientID: lw.ClientID, ClientSecret: lw.ClientSecret, Clock: h.clk})
	if err != nil {
		h.t.Fatal(err)
	}
	learners, err := learnworlds.NewLearners(map[hubsync.SchoolID]learnworlds.School{school: {Client: client}})
	if err != nil {
		h.t.Fatal(err)
	}
	return lw, learners
}

func (h *harness) connect() hubsync.Connection {
	h.t.Helper()
	return h.connectAs(school)
}

func (h *harness) connectAs(school hubsync.SchoolID) hubsync.Connection {
	h.t.Helper()
	u, err := h.eng.AuthorizeURL(school)
	if err != nil {
		h.t.Fatal(err)
	}
	pu, err := url.Parse(u)
	if err != nil {
		h.t.Fatal(err)
	}
	state := pu.Query().Get("state")
	code := h.hs.AuthorizeCode(redirect)
	conn, err := h.eng.CompleteConnect(h.ctx, school, code, state)
	if err != nil {
		h.t.Fatal(err)
	}
	return conn
}

func (h *harness) settings(s hubsync.Settings) hubsync.MappingReport {
	h.t.Helper()
	rep, err := h.eng.SaveSettings(h.ctx, school, s)
	if err != nil {
		h.t.Fatal(err)
	}
	return rep
}

func (h *harness) run() int {
	h.t.Helper()
	n, err := h.eng.RunOnce(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) contact(email string) map[string]string {
	h.t.Helper()
	c, ok := h.hs.Contact(email)
	if !ok {
		return nil
	}
	return c.Properties
}

func (h *harness) change(l hubsync.Learner) {
	h.t.Helper()
	if err := h.eng.LearnerChanged(h.ctx, school, l); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) record(a hubsync.Activity) {
	h.t.Helper()
	if a.At.IsZero() {
		a.At = h.clk.Now()
	}
	if err := h.eng.Record(h.ctx, school, a); err != nil {
		h.t.Fatal(err)
	}
}

var basicMapping = []hubsync.Mapping{
	{LMSField: "email", HubSpotProperty: "email"},
	{LMSField: "first_name", HubSpotProperty: "firstname"},
	{LMSField: "country", HubSpotProperty: "country"},
	{LMSField: "phone", HubSpotProperty: "phone"},
}

func TestConnectRecordsPortalAndRejectsForgedState(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if _, err := h.eng.Connection(h.ctx, school); !errors.Is(err, hubsync.ErrNotConnected) {
		t.Fatalf("before connecting: %v", err)
	}
	if _, err := h.eng.CompleteConnect(h.ctx, school, h.hs.AuthorizeCode(redirect), "forged.state"); !errors.Is(err, hubsync.ErrBadState) {
		t.Fatalf("forged state: %v", err)
	}
	u, _ := h.eng.AuthorizeURL("other-school")
	pu, _ := url.Parse(u)
	if _, err := h.eng.CompleteConnect(h.ctx, school, h.hs.AuthorizeCode(redirect), pu.Query().Get("state")); !errors.Is(err, hubsync.ErrBadState) {
		t.Fatalf("state of another school: %v", err)
	}
	conn := h.connect()
	if conn.PortalID != h.hs.PortalID() || conn.Domain == "" || !conn.Active {
		t.Fatalf("connection = %+v", conn)
	}
	got, err := h.eng.Connection(h.ctx, school)
	if err != nil || got.PortalID != conn.PortalID {
		t.Fatalf("stored connection = %+v, %v", got, err)
	}
	if err := h.eng.Disconnect(h.ctx, school); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.Connection(h.ctx, school); !errors.Is(err, hubsync.ErrNotConnected) {
		t.Fatalf("after disconnect: %v", err)
	}
}

func TestSaveSettingsReportsInvalidRowsAgainstLiveSchema(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if _, err := h.eng.SaveSettings(h.ctx, school, hubsync.Settings{}); !errors.Is(err, hubsync.ErrNotConnected) {
		t.Fatalf("unconnected: %v", err)
	}
	h.connect()
	if _, err := h.eng.SaveSettings(h.ctx, school, hubsync.Settings{Mode: "sideways"}); !errors.Is(err, hubsync.ErrInvalidSettings) {
		t.Fatalf("bad settings: %v", err)
	}
	rows := append(append([]hubsync.Mapping(nil), basicMapping...),
		hubsync.Mapping{LMSField: "country", HubSpotProperty: "no_such_property"})
	rep := h.settings(hubsync.Settings{Mappings: rows})
	if rep.Warning == "" || len(rep.Invalid()) != 1 || rep.Invalid()[0].Problems[0].Code != hubsync.ProblemPropertyMissing {
		t.Fatalf("report = %+v", rep)
	}
	saved, err := h.eng.Settings(h.ctx, school)
	if err != nil || len(saved.Mappings) != len(rows) {
		t.Fatalf("saved = %+v, %v", saved, err)
	}
}

func TestLiveChangesCoalesceAndOnlyChangedValuesAreSent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping})
	h.hs.ResetStats()

	for i := range 10 {
		h.change(hubsync.Learner{ID: "u1", Email: "Ann@Example.com", Values: map[string]any{
			"first_name": "Ann", "country": "GR", "phone": string(rune('0' + i)),
		}})
	}
	if n := h.run(); n != 1 {
		t.Fatalf("ten changes of one learner became %d jobs, want 1", n)
	}
	c := h.contact("ann@example.com")
	if c["firstname"] != "Ann" || c["country"] != "GR" || c["phone"] != "9" {
		t.Fatalf("contact = %v", c)
	}
	if c[hubsync.LifecycleProperty] != hubsync.StageLead {
		t.Errorf("new contact stage = %q, want lead", c[hubsync.LifecycleProperty])
	}
	calls := h.hs.Stats().Requests

	// The same values again: nothing to send.
	h.change(hubsync.Learner{ID: "u1", Email: "ann@example.com", Values: map[string]any{"first_name": "Ann", "country": "GR", "phone": "9"}})
	h.run()
	if got := h.hs.Stats().Requests; got != calls {
		t.Errorf("unchanged learner cost %d HubSpot calls", got-calls)
	}
	logs, err := h.store.ListSyncLog(h.ctx, school, hubsync.LogFilter{Outcome: hubsync.OutcomeUnchanged})
	if err != nil || len(logs) != 1 {
		t.Errorf("unchanged log entries = %v, %v", logs, err)
	}

	// One value changes: only it is sent, and it lands.
	h.change(hubsync.Learner{ID: "u1", Email: "ann@example.com", Values: map[string]any{"first_name": "Ann", "country": "FR", "phone": "9"}})
	h.run()
	if c := h.contact("ann@example.com"); c["country"] != "FR" {
		t.Errorf("country = %q", c["country"])
	}
}

func TestManyLearnersGoOutInBatchesOfAHundred(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping})
	h.hs.ResetStats()
	for i := range 250 {
		h.change(hubsync.Learner{Email: "l" + itoa(i) + "@school.example", Values: map[string]any{"country": "GR"}})
	}
	h.run()
	if n := len(h.hs.Contacts()); n != 250 {
		t.Fatalf("%d contacts, want 250", n)
	}
	st := h.hs.Stats()
	// 3 batch upserts, plus 3 batch reads of the current lifecycle stage of learners new to the
	// engine (never a backwards stage).
	if st.Requests > 6 {
		t.Errorf("%d HubSpot requests for 250 learners, want at most 6 (%+v)", st.Requests, st)
	}
}

func TestInvalidRowsAreSkippedAndBadRecordsIsolated(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cat, err := hubsync.LearnWorldsCatalog(hubsync.CatalogOptions{Custom: []hubsync.CustomField{{Name: "code", Type: hubsync.TypeString}}})
	if err != nil {
		t.Fatal(err)
	}
	h.lms.SetCatalog(school, cat)
	if err := h.hs.AddProperty(hubspottest.Property{Name: "lw_code", Label: "Code", Type: "string", FieldType: "text"}); err != nil {
		t.Fatal(err)
	}
	h.connect()
	h.settings(hubsync.Settings{Mappings: append(append([]hubsync.Mapping(nil), basicMapping...),
		hubsync.Mapping{LMSField: "graduation_year", HubSpotProperty: "country"}, // type mismatch: skipped
		hubsync.Mapping{LMSField: "cf_code", HubSpotProperty: "lw_code"})})
	// A HubSpot admin turns the property into a number behind our back; the engine's schema cache
	// does not know yet, so one learner's value is refused while the others' pass.
	if err := h.hs.DeleteProperty("lw_code"); err != nil {
		t.Fatal(err)
	}
	if err := h.hs.AddProperty(hubspottest.Property{Name: "lw_code", Label: "Code", Type: "number", FieldType: "number"}); err != nil {
		t.Fatal(err)
	}
	good := []string{"a@school.example", "b@school.example", "c@school.example"}
	for i, e := range good {
		h.change(hubsync.Learner{Email: e, Values: map[string]any{"country": "GR", "graduation_year": 2020.0, "cf_code": itoa(i + 1)}})
	}
	h.change(hubsync.Learner{Email: "bad@school.example", Values: map[string]any{"country": "GR", "cf_code": "ABC"}})
	h.run()
	for i, e := range good {
		c := h.contact(e)
		if c["country"] != "GR" || c["lw_code"] != itoa(i+1) {
			t.Errorf("%s: contact = %v", e, c)
		}
	}
	if c := h.contact("bad@school.example"); c != nil {
		t.Errorf("refused record written: %v", c)
	}
	failed, _ := h.store.ListSyncLog(h.ctx, school, hubsync.LogFilter{Outcome: hubsync.OutcomeFailed})
	if len(failed) != 1 || failed[0].Email != "bad@school.example" || failed[0].Reason == "" {
		t.Fatalf("failed log = %+v", failed)
	}
}

func TestGDPRToolkitKeepsLearnersWithoutConsentOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping, GDPRToolkit: true})
	h.change(hubsync.Learner{Email: "no@school.example", Values: map[string]any{"country": "GR"}})
	h.change(hubsync.Learner{Email: "yes@school.example", MarketingConsent: true, Values: map[string]any{"country": "GR"}})
	h.record(hubsync.Activity{Kind: hubsync.EventTagAdded, Email: "no@school.example", Subject: "vip"})
	h.run()
	if h.contact("no@school.example") != nil {
		t.Error("learner without consent reached HubSpot")
	}
	if h.contact("yes@school.example") == nil {
		t.Error("learner with consent missing")
	}
	if n := len(h.hs.TimelineEvents()); n != 0 {
		t.Errorf("%d timeline events for a learner without consent", n)
	}
}

func TestLifecycleLeadToCustomerAndNeverBackwards(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping, UpdateLifecycleStage: true})
	if _, err := h.hs.SeedContact(map[string]string{"email": "fan@school.example", hubsync.LifecycleProperty: hubsync.StageEvangelist}); err != nil {
		t.Fatal(err)
	}
	h.record(hubsync.Activity{Kind: hubsync.EventSignedUp, Email: "new@school.example"})
	h.record(hubsync.Activity{Kind: hubsync.EventSignedUp, Email: "fan@school.example"})
	h.run()
	if got := h.contact("new@school.example")[hubsync.LifecycleProperty]; got != hubsync.StageLead {
		t.Fatalf("after sign-up: %q, want lead", got)
	}
	if got := h.contact("fan@school.example")[hubsync.LifecycleProperty]; got != hubsync.StageEvangelist {
		t.Fatalf("evangelist became %q", got)
	}
	h.record(hubsync.Activity{Kind: hubsync.EventEnrolled, Email: "new@school.example", Subject: "Course A", SubjectID: "a"})
	h.record(hubsync.Activity{Kind: hubsync.EventPurchaseMade, Email: "fan@school.example", SubjectID: "p1", Amount: 10})
	h.run()
	if got := h.contact("new@school.example")[hubsync.LifecycleProperty]; got != hubsync.StageCustomer {
		t.Errorf("after enrolment: %q, want customer", got)
	}
	if got := h.contact("fan@school.example")[hubsync.LifecycleProperty]; got != hubsync.StageEvangelist {
		t.Errorf("evangelist became %q after a purchase", got)
	}
	// Case 2b: registering and purchasing at once.
	h.record(hubsync.Activity{Kind: hubsync.EventSignedUp, Email: "buyer@school.example"})
	h.record(hubsync.Activity{Kind: hubsync.EventFirstPurchase, Email: "buyer@school.example", SubjectID: "p2"})
	h.run()
	if got := h.contact("buyer@school.example")[hubsync.LifecycleProperty]; got != hubsync.StageCustomer {
		t.Errorf("register+purchase: %q, want customer", got)
	}
}

func TestLifecycleSettingOffKeepsLead(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping})
	h.record(hubsync.Activity{Kind: hubsync.EventSignedUp, Email: "x@school.example"})
	h.record(hubsync.Activity{Kind: hubsync.EventFirstPurchase, Email: "x@school.example", SubjectID: "p"})
	h.run()
	if got := h.contact("x@school.example")[hubsync.LifecycleProperty]; got != hubsync.StageLead {
		t.Errorf("stage = %q, want lead", got)
	}
}

func TestTimelineEventsOnceAndRepeatable(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping, DisabledEvents: []hubsync.EventKind{hubsync.EventTagRemoved}})
	at := h.clk.Now()
	e := "ann@school.example"
	// A once-event reported twice (two webhook deliveries with different ids) lands once.
	h.record(hubsync.Activity{Kind: hubsync.EventSignedUp, Email: e, SourceID: "wh-1", At: at})
	h.run()
	h.record(hubsync.Activity{Kind: hubsync.EventSignedUp, Email: e, SourceID: "wh-2", At: at.Add(time.Minute)})
	// Repeatable: two courses are two events; one redelivered enrolment is one.
	h.record(hubsync.Activity{Kind: hubsync.EventEnrolled, Email: e, SubjectID: "a", Subject: "Course A", SourceID: "enr-a", At: at})
	h.record(hubsync.Activity{Kind: hubsync.EventEnrolled, Email: e, SubjectID: "a", Subject: "Course A", SourceID: "enr-a", At: at})
	h.record(hubsync.Activity{Kind: hubsync.EventEnrolled, Email: e, SubjectID: "b", Subject: "Course B", SourceID: "enr-b", At: at})
	// Switched off: nothing.
	h.record(hubsync.Activity{Kind: hubsync.EventTagRemoved, Email: e, Subject: "old", At: at})
	h.run()
	counts := map[string]int{}
	for _, ev := range h.hs.TimelineEvents() {
		counts[ev.Properties["kind"]]++
	}
	want := map[string]int{"signed_up": 1, "enrolled_in_course": 2}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%s events = %d, want %d (all: %v)", k, counts[k], n, counts)
		}
	}
	if counts["tag_removed"] != 0 {
		t.Errorf("disabled kind sent %d events", counts["tag_removed"])
	}
}

func TestRevokedConnectionDeactivatesNotifiesOnceAndKeepsWork(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping, NotifyEmail: "admin@school.example"})
	h.change(hubsync.Learner{Email: "first@school.example", Values: map[string]any{"country": "GR"}})
	h.run()

	h.hs.Uninstall() // the portal removes the app: refresh tokens stop working
	h.hs.ExpireAccessTokens()
	h.clk.Advance(time.Hour) // our copy of the access token is past its expiry too
	h.change(hubsync.Learner{Email: "second@school.example", Values: map[string]any{"country": "GR"}})
	h.record(hubsync.Activity{Kind: hubsync.EventTagAdded, Email: "second@school.example", Subject: "vip"})
	h.run()
	h.run()
	conn, err := h.store.GetConnection(h.ctx, school)
	if err != nil || conn.Active {
		t.Fatalf("connection after revocation = %+v, %v", conn, err)
	}
	if n := h.note.count(); n != 1 {
		t.Fatalf("%d notifications, want exactly 1", n)
	}
	stats, _ := h.store.Stats(h.ctx, school)
	if stats.Ready+stats.Scheduled == 0 {
		t.Fatalf("pending work dropped: %+v", stats)
	}
	if h.contact("second@school.example") != nil {
		t.Fatal("contact written while disconnected")
	}

	// Reconnecting resumes the kept work.
	h.connect()
	h.run()
	if h.contact("second@school.example") == nil {
		t.Error("kept work did not run after reconnecting")
	}
	if n := h.note.count(); n != 1 {
		t.Errorf("%d notifications after reconnecting", n)
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

func TestOutageKeepsEveryChangeAndRetries(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping})
	// HubSpot answers 503 to every contact write for a while: longer than the client's own short
	// retries, so the jobs go back to the queue with a backoff.
	h.hs.InjectFault(hubspottest.Fault{PathPrefix: "/crm", Status: 503, Times: 50})
	for i := range 5 {
		h.change(hubsync.Learner{Email: "o" + itoa(i) + "@school.example", Values: map[string]any{"country": "GR"}})
	}
	h.run()
	if n := len(h.hs.Contacts()); n != 0 {
		t.Fatalf("%d contacts written during the outage", n)
	}
	stats, _ := h.store.Stats(h.ctx, school)
	if stats.Scheduled+stats.Ready != 5 {
		t.Fatalf("queue after the outage's first blow: %+v", stats)
	}
	// Time passes (hours of it), the outage ends, the retries go through.
	for range 100 {
		h.clk.Advance(5 * time.Minute)
		h.run()
		if len(h.hs.Contacts()) == 5 {
			break
		}
	}
	if n := len(h.hs.Contacts()); n != 5 {
		t.Fatalf("%d contacts after the outage, want 5", n)
	}
	if dead, _ := h.store.DeadLetters(h.ctx, school); len(dead) != 0 {
		t.Errorf("%d jobs dead-lettered", len(dead))
	}
}

func TestRunDeliversLiveChangesWithoutPolling(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping})
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- h.eng.Run(ctx) }()
	h.change(hubsync.Learner{Email: "live@school.example", Values: map[string]any{"country": "NL"}})
	for h.contact("live@school.example")["country"] != "NL" {
		// Workers are woken by the change; the harness's clock moves only when all wait.
		select {
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		default:
		}
		runtime.Gosched()
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
}

func TestDailyLimitReschedulesUntilTheReset(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping})
	h.hs.InjectFault(hubspottest.Fault{PathPrefix: "/crm/objects", Status: 429, Policy: "DAILY"})
	h.change(hubsync.Learner{Email: "d@school.example", Values: map[string]any{"country": "GR"}})
	h.run()
	if h.contact("d@school.example") != nil {
		t.Fatal("written despite the daily limit")
	}
	if n := h.run(); n != 0 {
		t.Fatalf("the portal was not paused: %d jobs ran again at once", n)
	}
	stats, _ := h.store.Stats(h.ctx, school)
	if stats.Scheduled+stats.Ready != 1 || stats.Dead != 0 {
		t.Fatalf("queue = %+v", stats)
	}
	h.clk.Advance(25 * time.Hour)
	h.run()
	if h.contact("d@school.example") == nil {
		t.Fatal("not written after the daily reset")
	}
}

func TestDeletedPropertyIsNoticedAndItsRowSkipped(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if err := h.hs.AddProperty(hubspottest.Property{Name: "lw_school_country", Label: "Country (school)", Type: "string", FieldType: "text"}); err != nil {
		t.Fatal(err)
	}
	h.connect()
	rows := append(append([]hubsync.Mapping(nil), basicMapping[:2]...), hubsync.Mapping{LMSField: "country", HubSpotProperty: "lw_school_country"})
	if rep := h.settings(hubsync.Settings{Mappings: rows}); rep.Warning != "" {
		t.Fatalf("report = %+v", rep)
	}
	// Deleted in HubSpot while the engine's schema cache still lists it.
	if err := h.hs.DeleteProperty("lw_school_country"); err != nil {
		t.Fatal(err)
	}
	h.change(hubsync.Learner{Email: "p@school.example", Values: map[string]any{"first_name": "Pat", "country": "GR"}})
	h.run() // refused: the property is gone; the engine looks at the schema again
	rep, err := h.eng.MappingReport(h.ctx, school)
	if err != nil {
		t.Fatal(err)
	}
	if inv := rep.Invalid(); len(inv) != 1 || inv[0].Problems[0].Code != hubsync.ProblemPropertyMissing {
		t.Fatalf("report after the deletion = %+v", rep)
	}
	h.change(hubsync.Learner{Email: "p@school.example", Values: map[string]any{"first_name": "Pat", "country": "FR"}})
	h.run()
	if c := h.contact("p@school.example"); c["firstname"] != "Pat" {
		t.Fatalf("valid rows did not sync after the deletion: %v", c)
	}
}

func TestCustomLifecycleStageIsReadFirstAndNeverOverwritten(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// The portal has a custom stage, whose place in the order hubsync cannot know.
	var lc hubspottest.Property
	for _, p := range h.hs.Properties() {
		if p.Name == hubsync.LifecycleProperty {
			lc = p
		}
	}
	lc.Options = append(lc.Options, hubspottest.PropertyOption{Label: "Partner", Value: "partner", DisplayOrder: 1})
	if err := h.hs.DeleteProperty(hubsync.LifecycleProperty); err != nil {
		t.Fatal(err)
	}
	if err := h.hs.AddProperty(lc); err != nil {
		t.Fatal(err)
	}
	if _, err := h.hs.SeedContact(map[string]string{"email": "p@school.example", hubsync.LifecycleProperty: "partner"}); err != nil {
		t.Fatal(err)
	}
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping, UpdateLifecycleStage: true})
	h.hs.ResetStats()
	h.record(hubsync.Activity{Kind: hubsync.EventSignedUp, Email: "p@school.example"})
	h.record(hubsync.Activity{Kind: hubsync.EventPurchaseMade, Email: "p@school.example", SubjectID: "x"})
	h.record(hubsync.Activity{Kind: hubsync.EventSignedUp, Email: "fresh@school.example"})
	h.run()
	if got := h.contact("p@school.example")[hubsync.LifecycleProperty]; got != "partner" {
		t.Fatalf("custom stage became %q", got)
	}
	if got := h.contact("fresh@school.example")[hubsync.LifecycleProperty]; got != hubsync.StageLead {
		t.Fatalf("new contact stage = %q, want lead", got)
	}
}

func TestUninstallIsNoticedAtTheFirst401(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping, NotifyEmail: "admin@school.example"})
	h.hs.Uninstall() // our access token is refused long before its expiry
	h.change(hubsync.Learner{Email: "u@school.example", Values: map[string]any{"country": "GR"}})
	h.run()
	conn, _ := h.store.GetConnection(h.ctx, school)
	if conn.Active || h.note.count() != 1 {
		t.Fatalf("after the 401: active %v, %d notifications", conn.Active, h.note.count())
	}
	if stats, _ := h.store.Stats(h.ctx, school); stats.Ready+stats.Scheduled != 1 || stats.Dead != 0 {
		t.Fatalf("queue = %+v", stats)
	}
}

func TestExpiredTokenIsRefreshedAfterA401(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping})
	h.hs.ExpireAccessTokens() // HubSpot ends the token early; the refresh token is still good
	h.change(hubsync.Learner{Email: "e@school.example", Values: map[string]any{"country": "GR"}})
	for range 5 {
		h.run()
		h.clk.Advance(2 * time.Second)
	}
	if h.contact("e@school.example") == nil {
		t.Fatal("not written after a refreshed token")
	}
	if conn, _ := h.store.GetConnection(h.ctx, school); !conn.Active {
		t.Fatal("an expired token deactivated the school")
	}
}

func TestNewWithoutRedirectURLSyncsButCannotStartAConnect(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := h.config(h.store, h.lms)
	cfg.HubSpot.RedirectURL = ""
	eng, err := hubsync.New(cfg)
	if err != nil {
		t.Fatalf("New without a redirect URL: %v", err)
	}
	if _, err := eng.AuthorizeURL(school); !errors.Is(err, hubsync.ErrInvalidSettings) {
		t.Errorf("AuthorizeURL: %v", err)
	}
	_, refresh := h.hs.MintToken()
	if _, err := eng.ConnectWithRefreshToken(h.ctx, school, refresh); err != nil {
		t.Fatalf("ConnectWithRefreshToken: %v", err)
	}
	if _, err := hubsync.New(hubsync.Config{}); !errors.Is(err, hubsync.ErrInvalidSettings) || !strings.Contains(err.Error(), "Config.Store") {
		t.Errorf("New(empty config) = %v", err)
	}
}
