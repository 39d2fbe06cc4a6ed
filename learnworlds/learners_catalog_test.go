package learnworlds_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// fullCatalog declares a custom field of every type, and billing details.
var fullCatalog = hubsync.CatalogOptions{
	Custom: []hubsync.CustomField{
		{Name: "skill", Type: hubsync.TypeString},
		{Name: "started", Type: hubsync.TypeDate},
		{Name: "score", Type: hubsync.TypeNumber},
		{Name: "deadline", Type: hubsync.TypeDateTime},
	},
	BillingEnabled: true,
}

// readSample returns how a learner in the fake gets a value for catalog field f, and the value
// the adapter must then carry in Learner.Values. ok is false for a field the test does not know.
func readSample(f hubsync.LearnerField) (set func(*learnworldstest.User), want any, ok bool) {
	text := "v-" + f.Key
	switch f.Key {
	case "email":
		return func(*learnworldstest.User) {}, "ann@example.com", true
	case "username":
		return func(*learnworldstest.User) {}, "ann", true
	case "first_name":
		return func(u *learnworldstest.User) { u.FirstName = text }, text, true
	case "last_name":
		return func(u *learnworldstest.User) { u.LastName = text }, text, true
	case "created":
		return func(u *learnworldstest.User) { u.Created = 1600000000.25 }, 1600000000.25, true
	case "last_login":
		return func(u *learnworldstest.User) { u.LastLogin = 1700000000.5 }, 1700000000.5, true
	case "nps_score":
		return func(u *learnworldstest.User) { n := 9; u.NPSScore = &n }, 9.0, true
	case "last_purchase_date":
		return nil, nil, true // set by a purchase, see testCatalogReadable
	}
	field := func(v any) func(*learnworldstest.User) {
		return func(u *learnworldstest.User) { u.Fields[f.Key] = v }
	}
	switch f.Category {
	case hubsync.CategoryUser, hubsync.CategoryCustom:
		switch f.Type {
		case hubsync.TypeString:
			return field(text), text, true
		case hubsync.TypeDate:
			return field("1990-04-02"), time.Date(1990, 4, 2, 0, 0, 0, 0, time.UTC), true
		case hubsync.TypeNumber:
			if f.Category == hubsync.CategoryUser {
				return field("2012"), 2012.0, true // sign-up fields are strings
			}
			return field(7.5), 7.5, true
		case hubsync.TypeDateTime:
			return field(1700000000.5), 1700000000.5, true
		}
	case hubsync.CategoryBilling:
		return func(u *learnworldstest.User) { u.BillingInfo[f.Key] = text }, text, true
	case hubsync.CategoryUTM:
		return func(u *learnworldstest.User) { u.UTMs[f.Key] = text }, text, true
	}
	return nil, nil, false
}

// recordSink keeps the learners the webhooks report.
type recordSink struct {
	mu       sync.Mutex
	learners []hubsync.Learner
}

func (r *recordSink) LearnerChanged(_ context.Context, _ hubsync.SchoolID, l hubsync.Learner) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.learners = append(r.learners, l)
	return nil
}

func (r *recordSink) Record(context.Context, hubsync.SchoolID, hubsync.Activity) error { return nil }

func (r *recordSink) last() (hubsync.Learner, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.learners) == 0 {
		return hubsync.Learner{}, false
	}
	return r.learners[len(r.learners)-1], true
}

// TestCatalogReadableFieldsAreDelivered: every field the adapter's catalog says is readable
// reaches Learner.Values with the learner's value, through every way the adapter hands learners
// to the engine: GetByEmail, ListPage and the profile webhooks (EngineWebhooks); with and without
// the last purchase date.
func TestCatalogReadableFieldsAreDelivered(t *testing.T) {
	t.Parallel()
	for _, lastPurchase := range []bool{false, true} {
		t.Run(fmt.Sprintf("LastPurchaseDate=%v", lastPurchase), func(t *testing.T) {
			t.Parallel()
			testCatalogReadable(t, lastPurchase)
		})
	}
}

func testCatalogReadable(t *testing.T, lastPurchase bool) {
	ctx := t.Context()
	s := newFake(t)
	l, err := learnworlds.NewLearners(map[hubsync.SchoolID]learnworlds.School{
		school: {Client: newClient(t, s, nil), Catalog: fullCatalog, LastPurchaseDate: lastPurchase},
	})
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := l.Catalog(ctx, school)
	if err != nil {
		t.Fatal(err)
	}
	u := learnworldstest.User{Email: "ann@example.com", Username: "ann", Fields: map[string]any{},
		UTMs: map[string]string{}, BillingInfo: map[string]string{}}
	want := map[string]any{}
	for _, f := range catalog {
		set, v, ok := readSample(f)
		if !ok {
			t.Errorf("catalog field %q (%s, %s) has no sample: teach readSample about it", f.Key, f.Category, f.Type)
			continue
		}
		if !f.Readable {
			continue
		}
		if set != nil {
			set(&u)
		}
		want[f.Key] = v
	}
	if _, err := s.AddUser(u); err != nil {
		t.Fatal(err)
	}
	if _, ok := want["last_purchase_date"]; ok {
		p, err := s.Purchase(ctx, u.Email, learnworldstest.Payment{ProductID: "c1", ProductName: "Course", Price: 10})
		if err != nil {
			t.Fatal(err)
		}
		want["last_purchase_date"] = p.PaidAt
	}

	sink := &recordSink{}
	hooks := httptest.NewServer(l.EngineWebhooks(school, learnworlds.Verifier{Secret: bridgeSecret}, sink, nil, nil))
	t.Cleanup(hooks.Close)
	s.SetWebhook(hooks.URL, bridgeSecret, false)
	if _, err := s.Update(ctx, u.Email, func(*learnworldstest.User) {}); err != nil {
		t.Fatalf("profile webhook: %v", err)
	}

	got := map[string]hubsync.Learner{}
	if got["GetByEmail"], err = l.GetByEmail(ctx, school, u.Email); err != nil {
		t.Fatal(err)
	}
	page, err := l.ListPage(ctx, school, "")
	if err != nil || len(page.Learners) != 1 {
		t.Fatalf("ListPage = %d learners, %v", len(page.Learners), err)
	}
	got["ListPage"] = page.Learners[0]
	hook, ok := sink.last()
	if !ok {
		t.Fatal("the profile webhook reported no learner")
	}
	got["webhook"] = hook
	for _, how := range []string{"GetByEmail", "ListPage", "webhook"} {
		for _, key := range slices.Sorted(maps.Keys(want)) {
			v, ok := got[how].Values[key]
			if !ok || !cmp.Equal(v, want[key]) {
				t.Errorf("%s: readable field %q = %#v (present %v), want %#v", how, key, v, ok, want[key])
			}
		}
	}
}

// writeSample returns a value to write to catalog field f, what the fake must then hold (read
// with stored), and the value the adapter's read-back carries.
func writeSample(f hubsync.LearnerField) (val any, stored func(learnworldstest.User) any, want any, back any) {
	text := "w-" + f.Key
	fieldOf := func(u learnworldstest.User) any { return u.Fields[f.Key] }
	switch f.Key {
	case "email":
		return "ann2@example.com", func(u learnworldstest.User) any { return u.Email }, "ann2@example.com", "ann2@example.com"
	case "username":
		return "ann2", func(u learnworldstest.User) any { return u.Username }, "ann2", "ann2"
	}
	day := time.Date(1991, 5, 3, 0, 0, 0, 0, time.UTC)
	switch f.Type {
	case hubsync.TypeString:
		return text, fieldOf, text, text
	case hubsync.TypeDate:
		return day, fieldOf, "1991-05-03", day
	case hubsync.TypeNumber:
		if f.Category == hubsync.CategoryUser {
			return 2015.0, fieldOf, "2015", 2015.0
		}
		return 8.5, fieldOf, 8.5, 8.5
	case hubsync.TypeDateTime:
		return time.Unix(1700000001, 0), fieldOf, 1700000001.0, 1700000001.0
	}
	return nil, nil, nil, nil
}

// TestCatalogWritableFieldsAreWritten: every field the adapter's catalog says is writable is
// written to the school by Update (and read back), and every other field is refused with
// hubsync.ErrReadOnly before any call.
func TestCatalogWritableFieldsAreWritten(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newFake(t)
	if err := s.DefineCatalog(fullCatalog.Custom); err != nil {
		t.Fatal(err)
	}
	l, err := learnworlds.NewLearners(map[hubsync.SchoolID]learnworlds.School{
		school: {Client: newClient(t, s, nil), Catalog: fullCatalog, LastPurchaseDate: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	catalog, _ := l.Catalog(ctx, school)
	ann, _ := s.AddUser(learnworldstest.User{Email: "ann@example.com", Username: "ann"})
	for _, f := range catalog {
		val, stored, want, back := writeSample(f)
		if !f.Writable {
			before := s.Stats().Requests
			if _, err := l.Update(ctx, school, ann.ID, map[string]any{f.Key: "x"}); !errors.Is(err, hubsync.ErrReadOnly) {
				t.Errorf("Update of read-only field %q: %v, want hubsync.ErrReadOnly", f.Key, err)
			}
			if n := s.Stats().Requests - before; n != 0 {
				t.Errorf("Update of read-only field %q made %d requests", f.Key, n)
			}
			continue
		}
		if stored == nil {
			t.Errorf("writable catalog field %q (%s) has no sample: teach writeSample about it", f.Key, f.Type)
			continue
		}
		got, err := l.Update(ctx, school, ann.ID, map[string]any{f.Key: val})
		if err != nil {
			t.Errorf("Update %q: %v", f.Key, err)
			continue
		}
		u, _ := s.User(ann.ID)
		if v := stored(u); !cmp.Equal(v, want) {
			t.Errorf("Update %q: the school holds %#v, want %#v", f.Key, v, want)
		}
		if v := got.Values[f.Key]; !cmp.Equal(v, back) {
			t.Errorf("Update %q: the learner read back carries %#v, want %#v", f.Key, v, back)
		}
	}
}

// TestCatalogLastPurchaseDateReadableOnlyWhenRead: without School.LastPurchaseDate the adapter
// never fills last_purchase_date, so its catalog says the field cannot be read (and why), and a
// row sending it to HubSpot is invalid instead of "ok" and always empty.
func TestCatalogLastPurchaseDateReadableOnlyWhenRead(t *testing.T) {
	t.Parallel()
	rows := []hubsync.Mapping{{LMSField: "last_purchase_date", HubSpotProperty: "lw_last_purchase"}}
	props := []hubsync.Property{{Name: "lw_last_purchase", Label: "Last purchase", Type: "datetime", FieldType: "date"}}
	for _, on := range []bool{false, true} {
		l := newLearners(t, newFake(t), on)
		catalog, err := l.Catalog(t.Context(), school)
		if err != nil {
			t.Fatal(err)
		}
		f := hubsync.IndexFields(catalog)["last_purchase_date"]
		if f.Readable != on || f.Writable {
			t.Errorf("LastPurchaseDate %v: last_purchase_date readable %v, writable %v", on, f.Readable, f.Writable)
		}
		rep := hubsync.ValidateMappings(hubsync.ModeToHubSpot, rows, catalog, props)
		row := rep.Rows[0]
		var codes []hubsync.ProblemCode
		for _, p := range row.Problems {
			codes = append(codes, p.Code)
		}
		if on && !row.Valid {
			t.Errorf("LastPurchaseDate on: the row is invalid: %v", codes)
		}
		if !on && (row.Valid || !slices.Contains(codes, hubsync.ProblemLMSFieldUnreadable)) {
			t.Errorf("LastPurchaseDate off: row valid %v, problems %v; want invalid, %s", row.Valid, codes, hubsync.ProblemLMSFieldUnreadable)
		}
	}
}

// TestEngineWebhooksLastPurchaseDateEndToEnd: a school mapping last_purchase_date to HubSpot.
// With School.LastPurchaseDate the date a purchase sent stays in HubSpot when a later profile
// webhook (which carries no payment) comes in; without it the row is reported invalid as soon as
// it is saved, rather than "ok" and never sent.
func TestEngineWebhooksLastPurchaseDateEndToEnd(t *testing.T) {
	t.Parallel()
	rows := []hubsync.Mapping{{LMSField: "email", HubSpotProperty: "email"},
		{LMSField: "last_purchase_date", HubSpotProperty: "lw_last_purchase"}}
	props := []hubspottest.Property{{Name: "lw_last_purchase", Label: "Last purchase", Type: "datetime", FieldType: "date", GroupName: "contactinformation"}}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			var rep hubsync.MappingReport
			b := newBridge(t, bridgeOptions{store: be.open(t), lastPurchase: true, mappings: rows, props: props, report: &rep})
			if len(rep.Invalid()) != 0 {
				t.Fatalf("with LastPurchaseDate the rows are invalid: %+v", rep.Invalid())
			}
			const email = "kim@school.example"
			if _, err := b.lw.Register(ctx, learnworldstest.User{Email: email, Fields: map[string]any{}}); err != nil {
				t.Fatal(err)
			}
			if _, err := b.lw.Purchase(ctx, email, learnworldstest.Payment{ProductID: "c1", ProductName: "Course", Price: 10}); err != nil {
				t.Fatal(err)
			}
			b.run(t)
			c, _ := b.hs.Contact(email)
			sent := c.Properties["lw_last_purchase"]
			if sent == "" {
				t.Fatalf("the purchase sent no last purchase date: %v", c.Properties)
			}
			if _, err := b.lw.Update(ctx, email, func(u *learnworldstest.User) { u.Fields["country"] = "CY" }); err != nil {
				t.Fatal(err)
			}
			b.run(t)
			if c, _ := b.hs.Contact(email); c.Properties["lw_last_purchase"] != sent {
				t.Fatalf("after a profile webhook HubSpot's last purchase date is %q, want %q", c.Properties["lw_last_purchase"], sent)
			}

			var off hubsync.MappingReport
			newBridge(t, bridgeOptions{store: be.open(t), mappings: rows, props: props, report: &off})
			bad := off.Invalid()
			if len(bad) != 1 || bad[0].Mapping.LMSField != "last_purchase_date" || len(bad[0].Problems) == 0 || bad[0].Problems[0].Code != hubsync.ProblemLMSFieldUnreadable {
				t.Fatalf("without LastPurchaseDate: invalid rows %+v, want the last_purchase_date row, %s", bad, hubsync.ProblemLMSFieldUnreadable)
			}
		})
	}
}

// TestEngineWebhooksLeadReadsNoPayment: a lead (leadCreated) is no user and has no id, so with
// School.LastPurchaseDate its learner says "no purchase" without a payments call.
func TestEngineWebhooksLeadReadsNoPayment(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	l := newLearners(t, s, true)
	sink := &recordSink{}
	hooks := httptest.NewServer(l.EngineWebhooks(school, learnworlds.Verifier{Secret: bridgeSecret}, sink, nil, nil))
	t.Cleanup(hooks.Close)
	body := `{"version":2,"type":"leadCreated","trigger":"email_register","school_id":"s","data":{"created":1700000000.5,"email":"lead@example.com","first_name":"Lee","last_name":null,"tags":[],"utms":{}}}`
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, hooks.URL, strings.NewReader(body))
	req.Header.Set(learnworldstest.SignatureHeader, "v1="+bridgeSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("lead answered %d", resp.StatusCode)
	}
	got, ok := sink.last()
	if v, present := got.Values["last_purchase_date"]; !ok || got.ID != "" || !present || v != nil {
		t.Fatalf("lead reported %v as %+v, want a learner without id and a nil last purchase date", ok, got)
	}
	if n := s.Stats().Requests; n != 0 {
		t.Fatalf("a lead made %d requests, want none", n)
	}
}
