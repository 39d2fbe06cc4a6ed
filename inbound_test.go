package hubsync_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

// withWebhooks mounts the engine's HubSpot webhook handler on a real listener and points the fake
// HubSpot's emitter at it. It returns the handler's URL.
func (h *harness) withWebhooks() string {
	h.t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	h.t.Cleanup(srv.Close)
	u := srv.URL + "/hubspot/webhooks"
	mux.Handle("/hubspot/webhooks", h.eng.HubSpotWebhooks(hubsync.WebhookOptions{PublicURL: u}))
	h.hs.SetWebhookTarget(u)
	return u
}

func (h *harness) flush() {
	h.t.Helper()
	if err := h.hs.FlushWebhooks(h.ctx); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) admin(email string, props map[string]string) {
	h.t.Helper()
	if _, err := h.hs.AdminUpsertContact(email, props, hubspottest.SourceCRMUI); err != nil {
		h.t.Fatal(err)
	}
}

var inboundMapping = []hubsync.Mapping{
	{LMSField: "email", HubSpotProperty: "email"},
	{LMSField: "country", HubSpotProperty: "country"},
	{LMSField: "company", HubSpotProperty: "company"},
}

func TestInboundAppliesOnlyMappedChangedFields(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping})
	h.lms.Put(school, hubsync.Learner{Email: "ann@school.example", Username: "ann", Values: map[string]any{"country": "GR", "company": "Acme", "phone": "123"}})
	h.admin("ann@school.example", map[string]string{"country": "FR", "company": "Acme", "firstname": "Ann", "phone": "999"})
	h.flush()
	h.run()
	l, _ := h.lms.Get(school, "ann@school.example")
	if l.Values["country"] != "FR" || l.Values["company"] != "Acme" || l.Values["phone"] != "123" || l.Username != "ann" {
		t.Fatalf("learner = %+v", l)
	}
	if got := h.lms.Stats().Updates; got != 1 {
		t.Errorf("%d LMS updates, want 1", got)
	}
	// The same values again: no LMS write.
	h.admin("ann@school.example", map[string]string{"firstname": "Annie"}) // unmapped
	h.flush()
	h.run()
	if got := h.lms.Stats().Updates; got != 1 {
		t.Errorf("%d LMS updates after an unmapped change, want 1", got)
	}
}

func TestInboundIgnoredInOutboundMode(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.withWebhooks()
	h.settings(hubsync.Settings{Mappings: inboundMapping}) // LMS -> HubSpot
	h.lms.Put(school, hubsync.Learner{Email: "ann@school.example", Values: map[string]any{"country": "GR"}})
	h.admin("ann@school.example", map[string]string{"country": "FR"})
	h.flush()
	h.run()
	if l, _ := h.lms.Get(school, "ann@school.example"); l.Values["country"] != "GR" || h.lms.Stats().Updates != 0 {
		t.Fatalf("learner changed in LMS -> HubSpot mode: %+v", l)
	}
}

func TestInboundNoMatchSkippedOrCreated(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping})
	h.admin("new@school.example", map[string]string{"country": "FR"})
	h.flush()
	h.run()
	if _, ok := h.lms.Get(school, "new@school.example"); ok {
		t.Fatal("learner created with creation off")
	}
	skipped, _ := h.store.ListSyncLog(h.ctx, school, hubsync.LogFilter{Outcome: hubsync.OutcomeSkipped})
	if len(skipped) == 0 {
		t.Fatal("the skip was not logged")
	}

	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping,
		Inbound: hubsync.InboundSettings{CreateLearners: true, SendWelcomeEmail: true, Tags: []string{"from-hubspot"}}})
	// A learner already holds the username the new one would derive.
	h.lms.Put(school, hubsync.Learner{Email: "other@elsewhere.example", Username: "new"})
	h.admin("new@school.example", map[string]string{"country": "DE"})
	h.flush()
	h.run()
	l, ok := h.lms.Get(school, "new@school.example")
	if !ok {
		t.Fatal("learner not created")
	}
	if l.Values["country"] != "DE" || len(l.Tags) != 1 || l.Tags[0] != "from-hubspot" {
		t.Errorf("created learner = %+v", l)
	}
	if !strings.HasPrefix(l.Username, "new-") || len(l.Username) != len("new-")+6 {
		t.Errorf("username %q, want new-<6 hex> after a clash", l.Username)
	}
	if h.lms.Stats().WelcomeEmails != 1 {
		t.Errorf("welcome emails = %d", h.lms.Stats().WelcomeEmails)
	}
}

func TestInboundDataValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cat, _ := hubsync.LearnWorldsCatalog(hubsync.CatalogOptions{Custom: []hubsync.CustomField{
		{Name: "code", Type: hubsync.TypeString, Validation: hubsync.FieldRules{Pattern: `[A-Z]{3}`}},
	}})
	h.lms.SetCatalog(school, cat)
	if err := h.hs.AddProperty(hubspottest.Property{Name: "lw_code", Type: "string", FieldType: "text"}); err != nil {
		t.Fatal(err)
	}
	h.connect()
	h.withWebhooks()
	rows := append(append([]hubsync.Mapping(nil), inboundMapping...), hubsync.Mapping{LMSField: "cf_code", HubSpotProperty: "lw_code"})
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: rows, Inbound: hubsync.InboundSettings{ValidateData: true}})
	h.lms.Put(school, hubsync.Learner{Email: "v@school.example", Values: map[string]any{"cf_code": "ABC", "country": "GR"}})
	h.admin("v@school.example", map[string]string{"lw_code": "abc1", "country": "IT"})
	h.flush()
	h.run()
	l, _ := h.lms.Get(school, "v@school.example")
	if l.Values["cf_code"] != "ABC" || l.Values["country"] != "IT" {
		t.Fatalf("learner = %+v (the invalid value must not land, the valid one must)", l)
	}
	// One entry for the record: updated, its reason naming the refused field.
	got, _ := h.store.ListSyncLog(h.ctx, school, hubsync.LogFilter{Email: "v@school.example"})
	if len(got) != 1 || got[0].Outcome != hubsync.OutcomeUpdated || !strings.Contains(got[0].Reason, "cf_code") {
		t.Fatalf("log = %+v", got)
	}
}

func TestTwoWaySettlesAfterOneRound(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeTwoWay, Mappings: inboundMapping})
	ann := hubsync.Learner{Email: "ann@school.example", Values: map[string]any{"country": "GR", "company": "Acme"}}
	ann = h.lms.Put(school, ann)

	// LMS -> HubSpot: the engine's own write comes back as webhooks and is ignored.
	h.change(ann)
	h.run()
	h.flush()
	h.run()
	if got := h.lms.Stats().Updates; got != 0 {
		t.Fatalf("the engine's own write echoed into %d LMS updates", got)
	}

	// HubSpot -> LMS, then the host reports the learner change it saw: nothing goes back.
	h.admin("ann@school.example", map[string]string{"company": "Globex"})
	h.flush()
	h.run()
	l, _ := h.lms.Get(school, "ann@school.example")
	if l.Values["company"] != "Globex" {
		t.Fatalf("learner = %+v", l)
	}
	before := h.hs.Stats().Requests
	h.change(l)
	h.run()
	h.flush()
	h.run()
	if after := h.hs.Stats().Requests; after != before {
		t.Errorf("the LMS echo of a HubSpot change cost %d HubSpot requests", after-before)
	}
	if got := h.lms.Stats().Updates; got != 1 {
		t.Errorf("%d LMS updates, want 1", got)
	}
}

func TestTwoWayConflictMostRecentWins(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeTwoWay, Mappings: inboundMapping})
	ann := h.lms.Put(school, hubsync.Learner{Email: "ann@school.example", Values: map[string]any{"country": "GR"}})
	h.change(ann)
	h.run()
	h.flush()
	h.run()
	// HubSpot changes the field; later, before the webhook is applied, the LMS changes it too.
	h.admin("ann@school.example", map[string]string{"country": "FR"})
	h.clk.Advance(time.Minute)
	ann.Values["country"], ann.Updated = "ES", h.clk.Now()
	h.lms.Put(school, ann)
	h.flush()
	h.run()
	if l, _ := h.lms.Get(school, "ann@school.example"); l.Values["country"] != "ES" {
		t.Fatalf("the older HubSpot change overwrote the newer LMS one: %v", l.Values["country"])
	}
	h.change(ann)
	h.run()
	if c := h.contact("ann@school.example"); c["country"] != "ES" {
		t.Fatalf("HubSpot country = %q, want the newer ES", c["country"])
	}
}

func TestEmailChangeInHubSpotMovesTheLearner(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping,
		Inbound: hubsync.InboundSettings{CreateLearners: true}})
	h.lms.Put(school, hubsync.Learner{Email: "old@school.example", Values: map[string]any{"country": "GR"}})
	h.admin("old@school.example", map[string]string{"country": "GR"})
	h.flush()
	h.run()
	h.admin("old@school.example", map[string]string{"email": "new@school.example", "hs_additional_emails": "old@school.example"})
	h.flush()
	h.run()
	if _, ok := h.lms.Get(school, "new@school.example"); !ok {
		t.Fatal("learner's email not moved")
	}
	if _, ok := h.lms.Get(school, "old@school.example"); ok {
		t.Fatal("old learner still under the old email")
	}
	if h.lms.Stats().Creates != 0 {
		t.Fatal("an email change created a learner")
	}
}

func TestDeletionNeverDeletesALearner(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping})
	h.lms.Put(school, hubsync.Learner{Email: "d@school.example"})
	h.admin("d@school.example", map[string]string{"country": "GR"})
	h.flush()
	h.run()
	if err := h.hs.AdminDeleteContact("d@school.example", hubspottest.SourceCRMUI); err != nil {
		t.Fatal(err)
	}
	h.flush()
	h.run()
	if _, ok := h.lms.Get(school, "d@school.example"); !ok {
		t.Fatal("learner gone")
	}
}

// signed builds a delivery as HubSpot signs it (v3).
func signed(t *testing.T, h *harness, u string, body []byte, ts time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	stamp := strconv.FormatInt(ts.UnixMilli(), 10)
	req.Header.Set(hubspot.HeaderTimestamp, stamp)
	req.Header.Set(hubspot.HeaderSignatureV3, hubspot.SignV3(h.hs.ClientSecret(), http.MethodPost, u, body, stamp))
	req.Header.Set("Content-Type", "application/json")
	return req
}

func event(portal int64, eventID int64, contact string, prop, value string, at time.Time) string {
	return fmt.Sprintf(`{"eventId":%d,"subscriptionId":1,"portalId":%d,"appId":1,"occurredAt":%d,"subscriptionType":"contact.propertyChange","attemptNumber":0,"objectId":%s,"propertyName":%q,"propertyValue":%q,"changeSource":"CRM_UI","sourceId":"userId:1"}`,
		eventID, portal, at.UnixMilli(), contact, prop, value)
}

func TestWebhookHandlerChecksAndDedupes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	u := h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping})
	h.lms.Put(school, hubsync.Learner{Email: "w@school.example", Values: map[string]any{"country": "GR"}})
	id, err := h.hs.SeedContact(map[string]string{"email": "w@school.example", "country": "PT"})
	if err != nil {
		t.Fatal(err)
	}
	now := h.clk.Now()
	good := event(h.hs.PortalID(), 7, id, "country", "PT", now)
	body := []byte("[" + good + "]")
	do := func(req *http.Request) int {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := do(signed(t, h, u, body, now)); code != 200 {
		t.Fatalf("good delivery: %d", code)
	}
	if code := do(signed(t, h, u, body, now)); code != 200 {
		t.Fatalf("duplicate delivery: %d", code)
	}
	if n := h.run(); n != 1 {
		t.Fatalf("a duplicated delivery became %d jobs, want 1", n)
	}
	if l, _ := h.lms.Get(school, "w@school.example"); l.Values["country"] != "PT" {
		t.Fatalf("not applied: %+v", l)
	}

	tampered := signed(t, h, u, body, now)
	tampered.Body = http.NoBody
	tampered.ContentLength = 0
	if code := do(tampered); code != 401 {
		t.Errorf("bad signature: %d, want 401", code)
	}
	if code := do(signed(t, h, u, body, now.Add(-10*time.Minute))); code != 401 {
		t.Errorf("stale timestamp: %d, want 401", code)
	}
	huge := bytes.Repeat([]byte(" "), 2<<20)
	if code := do(signed(t, h, u, huge, now)); code != 413 {
		t.Errorf("oversized: %d, want 413", code)
	}
	// One malformed event beside a good one: 400 naming it, and the good one still applied.
	mixed := []byte("[" + `{"eventId":"x"}` + "," + event(h.hs.PortalID(), 8, id, "country", "BR", now.Add(time.Second)) + "]")
	if _, err := h.hs.AdminUpsertContact("w@school.example", map[string]string{"country": "BR"}, hubspottest.SourceCRMUI); err != nil {
		t.Fatal(err)
	}
	if code := do(signed(t, h, u, mixed, now)); code != 400 {
		t.Errorf("mixed delivery: %d, want 400", code)
	}
	h.run()
	if l, _ := h.lms.Get(school, "w@school.example"); l.Values["country"] != "BR" {
		t.Fatalf("the good event of a mixed delivery was lost: %+v", l)
	}
	if code := do(signed(t, h, u, []byte("{not json"), now)); code != 400 {
		t.Errorf("garbage: %d, want 400", code)
	}
}

// FuzzWebhookHandler feeds the handler arbitrary signed bodies: it never panics and answers one of
// the documented statuses.
func FuzzWebhookHandler(f *testing.F) {
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"eventId":1,"portalId":62515,"objectId":1,"subscriptionType":"contact.propertyChange","occurredAt":1}]`))
	f.Add([]byte(`[{"eventId":"x"},null,3]`))
	f.Add([]byte(`{"a":1}`))
	h := newHarness(f)
	h.connect()
	handler := h.eng.HubSpotWebhooks(hubsync.WebhookOptions{PublicURL: "https://lms.example/hooks"})
	f.Fuzz(func(t *testing.T, body []byte) {
		stamp := strconv.FormatInt(h.clk.Now().UnixMilli(), 10)
		req := httptest.NewRequest(http.MethodPost, "https://lms.example/hooks", bytes.NewReader(body))
		req.Header.Set(hubspot.HeaderTimestamp, stamp)
		req.Header.Set(hubspot.HeaderSignatureV3, hubspot.SignV3(h.hs.ClientSecret(), http.MethodPost, "https://lms.example/hooks", body, stamp))
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 413:
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}

func TestReorderedDeliveriesEndOnTheLatestValue(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	u := h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping})
	h.lms.Put(school, hubsync.Learner{Email: "r@school.example", Values: map[string]any{"country": "GR"}})
	id, err := h.hs.SeedContact(map[string]string{"email": "r@school.example", "country": "FR"})
	if err != nil {
		t.Fatal(err)
	}
	t0 := h.clk.Now()
	older := []byte("[" + event(h.hs.PortalID(), 1, id, "country", "ES", t0) + "]")
	newer := []byte("[" + event(h.hs.PortalID(), 2, id, "country", "FR", t0.Add(time.Second)) + "]")
	for _, body := range [][]byte{newer, older} { // HubSpot does not promise order
		resp, err := http.DefaultClient.Do(signed(t, h, u, body, t0))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	h.run()
	if l, _ := h.lms.Get(school, "r@school.example"); l.Values["country"] != "FR" {
		t.Fatalf("learner country %v, want the contact's current FR", l.Values["country"])
	}
}

func TestMergeAppliesTheSurvivingContactWithoutDuplicates(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	u := h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping, Inbound: hubsync.InboundSettings{CreateLearners: true}})
	h.lms.Put(school, hubsync.Learner{Email: "keep@school.example", Values: map[string]any{"country": "GR"}})
	// After a merge HubSpot keeps one contact, with the merged one's address as an additional email.
	keep, err := h.hs.SeedContact(map[string]string{"email": "keep@school.example", "hs_additional_emails": "gone@school.example", "country": "IE"})
	if err != nil {
		t.Fatal(err)
	}
	now := h.clk.Now()
	merge := fmt.Sprintf(`[{"eventId":9,"subscriptionId":1,"portalId":%d,"appId":1,"occurredAt":%d,"subscriptionType":"contact.merge","attemptNumber":0,"objectId":%s,"primaryObjectId":%s,"mergedObjectIds":[%s,424242],"newObjectId":%s,"changeSource":"CRM_UI"}]`,
		h.hs.PortalID(), now.UnixMilli(), keep, keep, keep, keep)
	resp, err := http.DefaultClient.Do(signed(t, h, u, []byte(merge), now))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("merge delivery: %d", resp.StatusCode)
	}
	h.run()
	if l, _ := h.lms.Get(school, "keep@school.example"); l.Values["country"] != "IE" {
		t.Fatalf("learner = %+v", l)
	}
	if h.lms.Stats().Creates != 0 {
		t.Fatal("a merge created a learner")
	}
}
