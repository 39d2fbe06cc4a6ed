package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hubsync/hubsync"
)

// equateEmpty makes nil and empty maps, slices and byte slices equal, as stores round-trip them
// (cmp compares times with time.Time.Equal on its own).
var equateEmpty = cmpopts.EquateEmpty()

func mustEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if d := cmp.Diff(want, got, equateEmpty); d != "" {
		t.Fatalf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func mustNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("%s: err = %v, want one wrapping hubsync.ErrNotFound", what, err)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

var storeCases = []testCase{
	{"SettingsRoundTrip", testSettings},
	{"ListSchools", testListSchools},
	{"Connection", testConnection},
	{"ConnectionGeneration", testConnectionGeneration},
	{"SyncState", testSyncState},
	{"SyncStateFoldsEmail", testSyncStateFold},
	{"ClaimOnce", testClaimOnce},
	{"WebhookDedupe", testWebhookDedupe},
	{"Checkpoint", testCheckpoint},
	{"SyncLog", testSyncLog},
	{"SyncLogDefaultLimit", testSyncLogDefaultLimit},
	{"SyncLogFilterFoldsAndValidates", testSyncLogFilter},
	{"SyncLogRetention", testSyncLogRetention},
	{"ForgetBacklog", testForgetBacklog},
	{"ForgetInTx", testForgetInTx},
}

func sampleSettings() hubsync.Settings {
	return hubsync.Settings{
		Mode: hubsync.ModeTwoWay,
		Mappings: []hubsync.Mapping{
			{LMSField: "username", HubSpotProperty: "firstname", Direction: hubsync.DirectionBoth},
			{LMSField: "cf_company", HubSpotProperty: "company", Direction: hubsync.DirectionToLMS},
		},
		UpdateLifecycleStage: true,
		DisabledEvents:       []hubsync.EventKind{hubsync.EventTagAdded},
		GDPRToolkit:          true,
		Inbound:              hubsync.InboundSettings{CreateLearners: true, SendWelcomeEmail: true, Tags: []string{"from-crm"}, ValidateData: true},
		NotifyEmail:          "admin@school.example",
		BillingEnabled:       true,
	}
}

func testSettings(t *testing.T, x fixture) {
	_, err := x.s.GetSettings(x.ctx, "a")
	mustNotFound(t, "GetSettings before any Put", err)

	want := sampleSettings()
	must(t, "PutSettings", x.s.PutSettings(x.ctx, "a", want))
	got, err := x.s.GetSettings(x.ctx, "a")
	must(t, "GetSettings", err)
	mustEqual(t, "settings", got, want)

	// Replacing, not merging.
	must(t, "PutSettings again", x.s.PutSettings(x.ctx, "a", hubsync.DefaultSettings()))
	got, err = x.s.GetSettings(x.ctx, "a")
	must(t, "GetSettings after replace", err)
	mustEqual(t, "replaced settings", got, hubsync.DefaultSettings())

	// Schools are separate.
	_, err = x.s.GetSettings(x.ctx, "b")
	mustNotFound(t, "GetSettings of another school", err)
	must(t, "PutSettings zero value", x.s.PutSettings(x.ctx, "b", hubsync.Settings{}))
	got, err = x.s.GetSettings(x.ctx, "b")
	must(t, "GetSettings zero value", err)
	mustEqual(t, "zero settings", got, hubsync.Settings{})
}

func testListSchools(t *testing.T, x fixture) {
	got, err := x.s.ListSchools(x.ctx)
	must(t, "ListSchools of an empty store", err)
	mustEqual(t, "schools of an empty store", got, []hubsync.SchoolID(nil))

	must(t, "PutSettings", x.s.PutSettings(x.ctx, "s-charlie", hubsync.Settings{}))
	must(t, "PutSettings", x.s.PutSettings(x.ctx, "s-alpha", hubsync.Settings{}))
	must(t, "PutConnection", x.s.PutConnection(x.ctx, hubsync.Connection{School: "s-bravo", Active: true}))
	must(t, "PutConnection", x.s.PutConnection(x.ctx, hubsync.Connection{School: "s-alpha", Active: true}))
	// Things that do not make a school: sync state, once claims, checkpoints.
	must(t, "PutSyncState", x.s.PutSyncState(x.ctx, hubsync.SyncState{School: "s-delta", Email: "a@b.example"}))
	got, err = x.s.ListSchools(x.ctx)
	must(t, "ListSchools", err)
	mustEqual(t, "schools", got, []hubsync.SchoolID{"s-alpha", "s-bravo", "s-charlie"})

	must(t, "DeleteConnection", x.s.DeleteConnection(x.ctx, "s-bravo"))
	must(t, "DeleteConnection", x.s.DeleteConnection(x.ctx, "s-alpha"))
	got, err = x.s.ListSchools(x.ctx)
	must(t, "ListSchools after disconnect", err)
	mustEqual(t, "schools after disconnect", got, []hubsync.SchoolID{"s-alpha", "s-charlie"})
}

func testConnection(t *testing.T, x fixture) {
	_, err := x.s.GetConnection(x.ctx, "a")
	mustNotFound(t, "GetConnection before connect", err)
	must(t, "DeleteConnection of a missing one", x.s.DeleteConnection(x.ctx, "a"))

	c := hubsync.Connection{
		School:      "a",
		Token:       hubsync.Token{AccessToken: "at-1", RefreshToken: "rt-1", Expiry: epoch.Add(30 * time.Minute)},
		PortalID:    123456,
		Domain:      "school.example",
		Active:      true,
		ConnectedAt: epoch.Add(-time.Hour),
	}
	must(t, "PutConnection", x.s.PutConnection(x.ctx, c))
	got, err := x.s.GetConnection(x.ctx, "a")
	must(t, "GetConnection", err)
	c.Generation = got.Generation // the store's (testConnectionGeneration checks it)
	mustEqual(t, "connection", got, c)

	// Replace with a deactivated one (every field set).
	c2 := c
	c2.Token = hubsync.Token{AccessToken: "at-2", RefreshToken: "rt-2", Expiry: epoch.Add(2 * time.Hour).Add(123 * time.Millisecond)}
	c2.Active = false
	c2.DeactivatedAt = epoch.Add(time.Minute)
	c2.DeactivatedReason = "refresh token refused"
	c2.NotifiedAt = epoch.Add(2 * time.Minute)
	must(t, "PutConnection replace", x.s.PutConnection(x.ctx, c2))
	got, err = x.s.GetConnection(x.ctx, "a")
	must(t, "GetConnection after replace", err)
	c2.Generation = got.Generation
	mustEqual(t, "replaced connection", got, c2)

	_, err = x.s.GetConnection(x.ctx, "b")
	mustNotFound(t, "GetConnection of another school", err)

	must(t, "DeleteConnection", x.s.DeleteConnection(x.ctx, "a"))
	_, err = x.s.GetConnection(x.ctx, "a")
	mustNotFound(t, "GetConnection after DeleteConnection", err)
}

// generation returns the stored Generation of school's connection.
func generation(t *testing.T, x fixture, school hubsync.SchoolID) int64 {
	t.Helper()
	c, err := x.s.GetConnection(x.ctx, school)
	must(t, "GetConnection", err)
	return c.Generation
}

// testConnectionGeneration: every PutConnection and DeleteConnection raises the school's
// generation above every value it had, the value passed in is ignored, and a deleted connection's
// counter is kept.
func testConnectionGeneration(t *testing.T, x fixture) {
	put := func(gen int64, token string) int64 {
		t.Helper()
		must(t, "PutConnection", x.s.PutConnection(x.ctx, hubsync.Connection{School: "a", Active: true,
			Token: hubsync.Token{AccessToken: token}, Generation: gen}))
		return generation(t, x, "a")
	}
	g1 := put(1<<40, "at-1") // a Generation passed in is not stored
	if g1 < 1 {
		t.Fatalf("first PutConnection stored generation %d, want at least 1", g1)
	}
	g2 := put(0, "at-2")
	if g2 <= g1 {
		t.Fatalf("second PutConnection (given generation 0) stored generation %d, want more than the first, %d", g2, g1)
	}
	g3 := put(g2, "at-3") // what an engine that read the connection writes back
	if g3 <= g2 {
		t.Fatalf("third PutConnection stored generation %d, want more than %d", g3, g2)
	}
	must(t, "DeleteConnection", x.s.DeleteConnection(x.ctx, "a"))
	_, err := x.s.GetConnection(x.ctx, "a")
	mustNotFound(t, "GetConnection after DeleteConnection", err)
	g4 := put(0, "at-4")
	if g4 <= g3 {
		t.Fatalf("PutConnection after DeleteConnection stored generation %d, want more than before the delete, %d", g4, g3)
	}
	// Deleting twice raises the counter twice; the next put is above both.
	must(t, "DeleteConnection", x.s.DeleteConnection(x.ctx, "a"))
	must(t, "DeleteConnection again", x.s.DeleteConnection(x.ctx, "a"))
	if g5 := put(0, "at-5"); g5 <= g4 {
		t.Fatalf("PutConnection after two deletes stored generation %d, want more than %d", g5, g4)
	}

	// A delete of a school never connected keeps no connection and makes no school.
	must(t, "DeleteConnection of a school never connected", x.s.DeleteConnection(x.ctx, "never"))
	_, err = x.s.GetConnection(x.ctx, "never")
	mustNotFound(t, "GetConnection of a school only ever deleted", err)
	schools, err := x.s.ListSchools(x.ctx)
	must(t, "ListSchools", err)
	mustEqual(t, "schools", schools, []hubsync.SchoolID{"a"})
}

func testSyncState(t *testing.T, x fixture) {
	_, err := x.s.GetSyncState(x.ctx, "a", "jane@example.com")
	mustNotFound(t, "GetSyncState before Put", err)

	st := hubsync.SyncState{
		School:         "a",
		Email:          "Jane.Doe@Example.COM",
		LearnerID:      "lw-1",
		ContactID:      "101",
		SentToHubSpot:  map[string]string{"firstname": "Jane", "company": ""},
		SentToLMS:      map[string]string{"cf_company": "Acme"},
		LifecycleStage: "lead",
		UpdatedAt:      epoch.Add(-48 * time.Hour), // the store overwrites it
	}
	x.clk.Advance(1500 * time.Millisecond)
	must(t, "PutSyncState", x.s.PutSyncState(x.ctx, st))
	want := st
	want.Email = "jane.doe@example.com"
	want.UpdatedAt = x.clk.Now()
	for _, e := range []string{"jane.doe@example.com", "JANE.DOE@EXAMPLE.COM", "Jane.Doe@Example.COM"} {
		got, err := x.s.GetSyncState(x.ctx, "a", e)
		must(t, "GetSyncState "+e, err)
		mustEqual(t, "sync state by "+e, got, want)
	}
	_, err = x.s.GetSyncState(x.ctx, "b", "jane.doe@example.com")
	mustNotFound(t, "GetSyncState of another school", err)

	// Replace under a different spelling of the same email.
	x.clk.Advance(time.Second)
	st2 := hubsync.SyncState{School: "a", Email: "JANE.DOE@example.com", LearnerID: "lw-1", ContactID: "101", LifecycleStage: "customer"}
	must(t, "PutSyncState replace", x.s.PutSyncState(x.ctx, st2))
	want2 := st2
	want2.Email = "jane.doe@example.com"
	want2.UpdatedAt = x.clk.Now()
	got, err := x.s.GetSyncState(x.ctx, "a", "jane.doe@example.com")
	must(t, "GetSyncState after replace", err)
	mustEqual(t, "replaced sync state", got, want2)
}

// testSyncStateFold: the store keys sync state by hubsync.FoldEmail, so spellings that differ in
// case or in the white space around them are one record.
func testSyncStateFold(t *testing.T, x fixture) {
	must(t, "PutSyncState", x.s.PutSyncState(x.ctx, hubsync.SyncState{School: "a", Email: " Vic.Doe@Example.COM\t", LearnerID: "lw-1"}))
	for _, e := range []string{"vic.doe@example.com", " VIC.DOE@example.com ", "\tvic.doe@example.com\n"} {
		got, err := x.s.GetSyncState(x.ctx, "a", e)
		must(t, fmt.Sprintf("GetSyncState(%q)", e), err)
		mustEqual(t, fmt.Sprintf("email of the state got by %q", e), got.Email, "vic.doe@example.com")
		mustEqual(t, fmt.Sprintf("learner of the state got by %q", e), got.LearnerID, "lw-1")
	}
	must(t, "PutSyncState", x.s.PutSyncState(x.ctx, hubsync.SyncState{School: "a", Email: "vic.doe@example.com", LearnerID: "lw-2"}))
	got, err := x.s.GetSyncState(x.ctx, "a", "  Vic.Doe@Example.com")
	must(t, "GetSyncState", err)
	mustEqual(t, "learner after a put under the folded spelling (one record, replaced)", got.LearnerID, "lw-2")
}

func testClaimOnce(t *testing.T, x fixture) {
	owner, err := x.s.ClaimOnce(x.ctx, "a", "signed_up:jane@example.com", "occ-1")
	must(t, "first ClaimOnce", err)
	mustEqual(t, "owner after first claim", owner, "occ-1")
	owner, err = x.s.ClaimOnce(x.ctx, "a", "signed_up:jane@example.com", "occ-1")
	must(t, "repeated ClaimOnce", err)
	mustEqual(t, "owner after repeating the claim", owner, "occ-1")
	owner, err = x.s.ClaimOnce(x.ctx, "a", "signed_up:jane@example.com", "occ-2")
	must(t, "losing ClaimOnce", err)
	mustEqual(t, "owner after another occurrence's claim", owner, "occ-1")
	// Keys are per school and per key.
	owner, err = x.s.ClaimOnce(x.ctx, "b", "signed_up:jane@example.com", "occ-2")
	must(t, "ClaimOnce in another school", err)
	mustEqual(t, "owner in another school", owner, "occ-2")
	owner, err = x.s.ClaimOnce(x.ctx, "a", "first_purchase:jane@example.com", "occ-3")
	must(t, "ClaimOnce of another key", err)
	mustEqual(t, "owner of another key", owner, "occ-3")
}

func testWebhookDedupe(t *testing.T, x fixture) {
	seen := func(source, id string, at time.Time, want bool) {
		t.Helper()
		first, err := x.s.MarkWebhookSeen(x.ctx, source, id, at)
		must(t, fmt.Sprintf("MarkWebhookSeen(%s, %s)", source, id), err)
		if first != want {
			t.Fatalf("MarkWebhookSeen(%s, %s) = %v, want %v", source, id, first, want)
		}
	}
	seen("hubspot", "e1", epoch, true)
	seen("hubspot", "e1", epoch.Add(time.Minute), false)
	seen("learnworlds", "e1", epoch, true) // sources are separate
	seen("hubspot", "e2", epoch.Add(2*time.Hour), true)
	seen("hubspot", "e3", epoch.Add(3*time.Hour), true)

	n, err := x.s.ForgetWebhooksBefore(x.ctx, epoch.Add(2*time.Hour))
	must(t, "ForgetWebhooksBefore", err)
	mustEqual(t, "forgotten count", n, 2) // hubspot e1 and learnworlds e1; e2 is not before
	seen("hubspot", "e1", epoch.Add(4*time.Hour), true)
	seen("hubspot", "e2", epoch.Add(4*time.Hour), false)
	n, err = x.s.ForgetWebhooksBefore(x.ctx, epoch)
	must(t, "ForgetWebhooksBefore with nothing to forget", err)
	mustEqual(t, "forgotten count", n, 0)
}

func testCheckpoint(t *testing.T, x fixture) {
	_, err := x.s.GetCheckpoint(x.ctx, "a", "manual:lw-to-hs")
	mustNotFound(t, "GetCheckpoint before Put", err)
	must(t, "DeleteCheckpoint of a missing one", x.s.DeleteCheckpoint(x.ctx, "a", "manual:lw-to-hs"))

	cp := hubsync.Checkpoint{School: "a", Name: "manual:lw-to-hs", Cursor: "page-7", Data: []byte(`{"done":1400}`)}
	must(t, "PutCheckpoint", x.s.PutCheckpoint(x.ctx, cp))
	other := hubsync.Checkpoint{School: "a", Name: "manual:hs-to-lw", Cursor: "after=99"}
	must(t, "PutCheckpoint other name", x.s.PutCheckpoint(x.ctx, other))
	ignoreTime := cmpopts.IgnoreFields(hubsync.Checkpoint{}, "UpdatedAt")
	get := func(school hubsync.SchoolID, name string, want hubsync.Checkpoint) {
		t.Helper()
		got, err := x.s.GetCheckpoint(x.ctx, school, name)
		must(t, "GetCheckpoint "+name, err)
		if d := cmp.Diff(want, got, equateEmpty, ignoreTime); d != "" {
			t.Fatalf("checkpoint %s mismatch (-want +got):\n%s", name, d)
		}
	}
	get("a", "manual:lw-to-hs", cp)
	get("a", "manual:hs-to-lw", other)
	_, err = x.s.GetCheckpoint(x.ctx, "b", "manual:lw-to-hs")
	mustNotFound(t, "GetCheckpoint of another school", err)

	cp.Cursor, cp.Data = "page-8", []byte(`{"done":1600}`)
	must(t, "PutCheckpoint replace", x.s.PutCheckpoint(x.ctx, cp))
	get("a", "manual:lw-to-hs", cp)

	must(t, "DeleteCheckpoint", x.s.DeleteCheckpoint(x.ctx, "a", "manual:lw-to-hs"))
	_, err = x.s.GetCheckpoint(x.ctx, "a", "manual:lw-to-hs")
	mustNotFound(t, "GetCheckpoint after delete", err)
	get("a", "manual:hs-to-lw", other)
}

func testSyncLog(t *testing.T, x fixture) {
	got, err := x.s.ListSyncLog(x.ctx, "a", hubsync.LogFilter{})
	must(t, "ListSyncLog of an empty log", err)
	mustEqual(t, "empty log", got, []hubsync.SyncLogEntry(nil))

	e := func(at time.Duration, email string, o hubsync.LogOutcome, reason string) hubsync.SyncLogEntry {
		return hubsync.SyncLogEntry{School: "a", At: epoch.Add(at), Direction: hubsync.DirectionToHubSpot, Email: email, Outcome: o, Reason: reason}
	}
	batch := []hubsync.SyncLogEntry{
		e(1*time.Second, "Jane@Example.com", hubsync.OutcomeCreated, ""),
		e(2*time.Second, "bob@example.com", hubsync.OutcomeFailed, "HubSpot said 400: invalid email"),
		e(2*time.Second, "carol@example.com", hubsync.OutcomeSkipped, "no marketing consent"),
		{School: "b", At: epoch.Add(3 * time.Second), Direction: hubsync.DirectionToLMS, Email: "x@example.com", Outcome: hubsync.OutcomeUpdated},
	}
	must(t, "AppendSyncLog", x.s.AppendSyncLog(x.ctx, batch...))
	x.clk.Advance(10 * time.Second)
	must(t, "AppendSyncLog with zero At", x.s.AppendSyncLog(x.ctx, hubsync.SyncLogEntry{School: "a", Direction: hubsync.DirectionToLMS, Email: "jane@example.com", Outcome: hubsync.OutcomeUnchanged}))
	must(t, "AppendSyncLog of nothing", x.s.AppendSyncLog(x.ctx))

	all, err := x.s.ListSyncLog(x.ctx, "a", hubsync.LogFilter{})
	must(t, "ListSyncLog", err)
	ids := map[int64]bool{}
	for _, g := range all {
		if g.ID == 0 || ids[g.ID] {
			t.Fatalf("entry IDs must be distinct and non-zero; got %d again or zero in %+v", g.ID, all)
		}
		ids[g.ID] = true
	}
	ignoreID := cmpopts.IgnoreFields(hubsync.SyncLogEntry{}, "ID")
	wantAll := []hubsync.SyncLogEntry{
		{School: "a", At: x.clk.Now(), Direction: hubsync.DirectionToLMS, Email: "jane@example.com", Outcome: hubsync.OutcomeUnchanged},
		batch[2], batch[1], batch[0],
	}
	check := func(what string, f hubsync.LogFilter, want []hubsync.SyncLogEntry) {
		t.Helper()
		got, err := x.s.ListSyncLog(x.ctx, "a", f)
		must(t, "ListSyncLog "+what, err)
		if d := cmp.Diff(want, got, equateEmpty, ignoreID); d != "" {
			t.Fatalf("ListSyncLog %s mismatch (-want +got):\n%s", what, d)
		}
	}
	check("all", hubsync.LogFilter{}, wantAll)
	check("by outcome", hubsync.LogFilter{Outcome: hubsync.OutcomeFailed}, []hubsync.SyncLogEntry{batch[1]})
	check("by email, any case", hubsync.LogFilter{Email: "JANE@example.com"}, []hubsync.SyncLogEntry{wantAll[0], batch[0]})
	check("since", hubsync.LogFilter{Since: epoch.Add(2 * time.Second)}, wantAll[:3])
	check("limit", hubsync.LogFilter{Limit: 2}, wantAll[:2])
	check("combined", hubsync.LogFilter{Email: "jane@example.com", Since: epoch.Add(5 * time.Second), Outcome: hubsync.OutcomeUnchanged}, wantAll[:1])
	check("no match", hubsync.LogFilter{Outcome: hubsync.OutcomeUpdated}, nil)

	gotB, err := x.s.ListSyncLog(x.ctx, "b", hubsync.LogFilter{})
	must(t, "ListSyncLog of school b", err)
	if d := cmp.Diff([]hubsync.SyncLogEntry{batch[3]}, gotB, equateEmpty, ignoreID); d != "" {
		t.Fatalf("school b's log mismatch (-want +got):\n%s", d)
	}
	if _, err := x.s.ListSyncLog(x.ctx, "a", hubsync.LogFilter{Limit: -1}); !errors.Is(err, hubsync.ErrInvalidValue) {
		t.Fatalf("ListSyncLog with a negative Limit: err = %v, want one wrapping hubsync.ErrInvalidValue", err)
	}
}

func testSyncLogDefaultLimit(t *testing.T, x fixture) {
	entries := make([]hubsync.SyncLogEntry, 130)
	for i := range entries {
		entries[i] = hubsync.SyncLogEntry{School: "a", At: epoch.Add(time.Duration(i) * time.Second), Direction: hubsync.DirectionToHubSpot,
			Email: fmt.Sprintf("l%d@example.com", i), Outcome: hubsync.OutcomeUpdated}
	}
	must(t, "AppendSyncLog", x.s.AppendSyncLog(x.ctx, entries...))
	got, err := x.s.ListSyncLog(x.ctx, "a", hubsync.LogFilter{})
	must(t, "ListSyncLog", err)
	if len(got) != hubsync.LogLimitDefault {
		t.Fatalf("ListSyncLog with Limit 0 returned %d entries, want hubsync.LogLimitDefault (%d)", len(got), hubsync.LogLimitDefault)
	}
	if got[0].Email != "l129@example.com" || got[99].Email != "l30@example.com" {
		t.Fatalf("ListSyncLog returned %s..%s, want the newest 100 (l129..l30)", got[0].Email, got[99].Email)
	}
	got, err = x.s.ListSyncLog(x.ctx, "a", hubsync.LogFilter{Limit: 1000})
	must(t, "ListSyncLog with a large limit", err)
	if len(got) != 130 {
		t.Fatalf("ListSyncLog with Limit 1000 returned %d entries, want 130", len(got))
	}
}

// raceN runs fn from n goroutines released at once and waits for them.
func raceN(n int, fn func(i int)) {
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			fn(i)
		}()
	}
	start.Done()
	done.Wait()
}

// testSyncLogFilter: LogFilter.Email and entries' emails are compared folded (hubsync.FoldEmail),
// entries keep the email as given, and a filter LogFilter.Validate refuses is an error wrapping
// hubsync.ErrInvalidValue.
func testSyncLogFilter(t *testing.T, x fixture) {
	entries := []hubsync.SyncLogEntry{
		{School: "a", At: epoch, Direction: hubsync.DirectionToHubSpot, Email: "\tVic@Example.com ", Outcome: hubsync.OutcomeCreated},
		{School: "a", At: epoch.Add(time.Second), Direction: hubsync.DirectionToHubSpot, Email: "ic@example.com", Outcome: hubsync.OutcomeCreated},
		{School: "a", At: epoch.Add(2 * time.Second), Direction: hubsync.DirectionToLMS, Email: "vic@example.com", Outcome: hubsync.OutcomeUpdated},
	}
	must(t, "AppendSyncLog", x.s.AppendSyncLog(x.ctx, entries...))
	ignoreID := cmpopts.IgnoreFields(hubsync.SyncLogEntry{}, "ID")
	for _, email := range []string{"vic@example.com", " VIC@example.com\n", "Vic@Example.com"} {
		got, err := x.s.ListSyncLog(x.ctx, "a", hubsync.LogFilter{Email: email})
		must(t, fmt.Sprintf("ListSyncLog by email %q", email), err)
		if d := cmp.Diff([]hubsync.SyncLogEntry{entries[2], entries[0]}, got, equateEmpty, ignoreID); d != "" {
			t.Fatalf("ListSyncLog by email %q mismatch (-want +got):\n%s", email, d)
		}
	}
	// An entry of an unknown outcome or direction fails the call, naming the field, and appends
	// nothing (not even the valid entry before it).
	before, err := x.s.ListSyncLog(x.ctx, "a", hubsync.LogFilter{Limit: 1000})
	must(t, "ListSyncLog", err)
	valid := hubsync.SyncLogEntry{School: "a", At: epoch.Add(time.Hour), Direction: hubsync.DirectionToHubSpot, Email: "zed@example.com", Outcome: hubsync.OutcomeCreated}
	for _, bad := range []struct {
		entry hubsync.SyncLogEntry
		field string
	}{
		{hubsync.SyncLogEntry{School: "a", Direction: hubsync.DirectionToHubSpot, Outcome: "exploded"}, "Outcome"},
		{hubsync.SyncLogEntry{School: "a", Direction: hubsync.DirectionToHubSpot, Outcome: "Created"}, "Outcome"},
		{hubsync.SyncLogEntry{School: "a", Direction: "sideways", Outcome: hubsync.OutcomeCreated}, "Direction"},
	} {
		err := x.s.AppendSyncLog(x.ctx, valid, bad.entry)
		if !errors.Is(err, hubsync.ErrInvalidValue) || !strings.Contains(err.Error(), bad.field) {
			t.Fatalf("AppendSyncLog(%+v): err = %v, want one wrapping hubsync.ErrInvalidValue naming %s", bad.entry, err, bad.field)
		}
	}
	after, err := x.s.ListSyncLog(x.ctx, "a", hubsync.LogFilter{Limit: 1000})
	must(t, "ListSyncLog", err)
	if len(after) != len(before) {
		t.Fatalf("AppendSyncLog of invalid entries appended %d entries, want none", len(after)-len(before))
	}
	for _, f := range []hubsync.LogFilter{{Outcome: "exploded"}, {Outcome: "Created"}, {Limit: -1}, {Limit: -5, Outcome: hubsync.OutcomeFailed}} {
		if _, err := x.s.ListSyncLog(x.ctx, "a", f); !errors.Is(err, hubsync.ErrInvalidValue) {
			t.Fatalf("ListSyncLog(%+v): err = %v, want one wrapping hubsync.ErrInvalidValue", f, err)
		}
	}
}
