package learnworlds_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

const school = hubsync.SchoolID("school-1")

var testCatalog = hubsync.CatalogOptions{
	Custom: []hubsync.CustomField{
		{Name: "skill", Type: hubsync.TypeString},
		{Name: "cf_started", Type: hubsync.TypeDate},
		{Name: "score", Type: hubsync.TypeNumber},
	},
	BillingEnabled: true,
}

func newLearners(t *testing.T, s *learnworldstest.Server, lastPurchase bool) *learnworlds.Learners {
	t.Helper()
	l, err := learnworlds.NewLearners(map[hubsync.SchoolID]learnworlds.School{
		school: {Client: newClient(t, s, nil), Catalog: testCatalog, LastPurchaseDate: lastPurchase},
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestNewLearnersRejectsBadSchools(t *testing.T) {
	t.Parallel()
	if _, err := learnworlds.NewLearners(map[hubsync.SchoolID]learnworlds.School{"a": {}}); !errors.Is(err, learnworlds.ErrConfig) || !strings.Contains(err.Error(), `"a"`) {
		t.Fatalf("nil client: %v", err)
	}
	c, _ := learnworlds.New(learnworlds.Config{BaseURL: "https://school.example.com", ClientID: "x", AccessToken: "t"})
	bad := hubsync.CatalogOptions{Custom: []hubsync.CustomField{{Name: "cf_", Type: hubsync.TypeString}}}
	if _, err := learnworlds.NewLearners(map[hubsync.SchoolID]learnworlds.School{"b": {Client: c, Catalog: bad}}); !errors.Is(err, hubsync.ErrInvalidSettings) {
		t.Fatalf("bad catalog: %v", err)
	}
}

func TestLearnersCatalogAndUnknownSchool(t *testing.T) {
	t.Parallel()
	l := newLearners(t, newFake(t), false)
	got, err := l.Catalog(t.Context(), school)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := hubsync.LearnWorldsCatalog(testCatalog)
	for i := range want {
		if want[i].Key == "last_purchase_date" { // not read without School.LastPurchaseDate
			want[i].Readable = false
			want[i].Label = "Last purchase date (not read: the LearnWorlds adapter's LastPurchaseDate is off)"
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("catalog (-want +got):\n%s", diff)
	}
	_, err = l.GetByEmail(t.Context(), "other", "a@example.com")
	if !errors.Is(err, learnworlds.ErrUnknownSchool) || !errors.Is(err, hubsync.ErrUnavailable) || errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("unknown school: %v", err)
	}
}

func TestLearnersGetByEmailMapsValues(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	yes, nps := true, 9
	ann, _ := s.AddUser(learnworldstest.User{Email: "ann@example.com", Username: "ann", FirstName: "Ann", LastName: "Lee",
		Fields: map[string]any{"phone": "555", "birthday": "1990-04-02", "graduation_year": "2012",
			"cf_skill": "Go", "cf_started": "2021-06-25", "cf_score": "7.5"},
		Tags: []string{"vip"}, UTMs: map[string]string{"fc_utm_source": "Facebook", "lc_referrer": "x.com"},
		BillingInfo: map[string]string{"bf_city": "London"}, SubscribedForMarketingEmails: &yes, NPSScore: &nps,
		LastLogin: 1700000000.5, Created: 1600000000.25})
	l := newLearners(t, s, false)
	got, err := l.GetByEmail(t.Context(), school, "ANN@example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := hubsync.Learner{ID: ann.ID, Email: "ann@example.com", Username: "ann", Tags: []string{"vip"}, MarketingConsent: true,
		Created: time.Unix(1600000000, 250000000).UTC(),
		Values: map[string]any{
			"email": "ann@example.com", "username": "ann", "first_name": "Ann", "last_name": "Lee",
			"created": 1600000000.25, "last_login": 1700000000.5, "nps_score": 9.0,
			"phone": "555", "birthday": time.Date(1990, 4, 2, 0, 0, 0, 0, time.UTC), "graduation_year": 2012.0,
			"cf_skill": "Go", "cf_started": time.Date(2021, 6, 25, 0, 0, 0, 0, time.UTC), "cf_score": 7.5,
			"bf_name": nil, "bf_address": nil, "bf_city": "London", "bf_postalcode": nil, "bf_country": nil, "bf_taxid": nil,
			"fc_utm_source": "Facebook", "fc_utm_medium": nil, "fc_utm_campaign": nil, "fc_utm_term": nil, "fc_utm_content": nil,
			"fc_landing": nil, "fc_referrer": nil, "fc_country": nil, "lc_utm_source": nil, "lc_utm_medium": nil,
			"lc_utm_campaign": nil, "lc_utm_term": nil, "lc_utm_content": nil, "lc_landing": nil, "lc_referrer": "x.com", "lc_country": nil,
		}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("learner (-want +got):\n%s", diff)
	}
	if _, err := l.GetByEmail(t.Context(), school, "nobody@example.com"); !errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}

func TestLearnersListPage(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	if err := s.Seed(450, nil); err != nil {
		t.Fatal(err)
	}
	l := newLearners(t, s, false)
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		p, err := l.ListPage(t.Context(), school, cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if p.Total != 450 {
			t.Fatalf("Total = %d, want 450", p.Total)
		}
		for _, ln := range p.Learners {
			seen[ln.Email] = true
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	if pages != 3 || len(seen) != 450 {
		t.Fatalf("%d pages, %d learners; want 3 and 450", pages, len(seen))
	}
	if _, err := l.ListPage(t.Context(), school, "abc"); err == nil || !strings.Contains(err.Error(), `"abc"`) {
		t.Fatalf("bad cursor: %v", err)
	}
}

func TestLearnersUpdate(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	for name, typ := range map[string]string{"skill": "string", "started": "date", "score": "number"} {
		if err := s.DefineField(name, learnworldstest.FieldRule{Type: typ}); err != nil {
			t.Fatal(err)
		}
	}
	ann, _ := s.AddUser(learnworldstest.User{Email: "ann@example.com", Username: "ann", Fields: map[string]any{"bio": "hi", "cf_skill": "Go"}})
	l := newLearners(t, s, false)
	ctx := t.Context()
	got, err := l.Update(ctx, school, ann.ID, map[string]any{
		"phone": "123", "birthday": time.Date(1990, 4, 2, 0, 0, 0, 0, time.UTC), "graduation_year": 2012.0,
		"cf_score": int64(8), "email": "ann2@example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "ann2@example.com" || got.Values["phone"] != "123" || got.Values["cf_score"] != 8.0 || got.Values["graduation_year"] != 2012.0 {
		t.Fatalf("updated learner = %+v", got)
	}
	var sent struct {
		Fields map[string]any `json:"fields"`
	}
	if err := json.Unmarshal(s.LastRequestBody("PUT /v2/users/{id}"), &sent); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"phone": "123", "birthday": "1990-04-02", "graduation_year": "2012", "cf_score": 8.0}
	if diff := cmp.Diff(want, sent.Fields); diff != "" {
		t.Fatalf("PUT fields (-want +got): the changed fields (the answer shows this fake merges; see TestUpdateLearnsWhatPutDoes)\n%s", diff)
	}
	stored, _ := s.User(ann.ID)
	if stored.Fields["bio"] != "hi" || stored.Fields["phone"] != "123" {
		t.Fatalf("stored %+v", stored)
	}

	before := s.Stats().Requests
	tests := []struct {
		key string
		val any
		is  error
	}{
		{"first_name", "Ann", hubsync.ErrReadOnly},
		{"bf_city", "Paris", hubsync.ErrReadOnly},
		{"fc_utm_source", "x", hubsync.ErrReadOnly},
		{"last_purchase_date", 1.0, hubsync.ErrReadOnly},
		{"created", 1.0, hubsync.ErrReadOnly},
		{"cf_undeclared", "x", hubsync.ErrInvalidValue},
		{"birthday", "02/04/1990", hubsync.ErrInvalidValue},
		{"graduation_year", "soon", hubsync.ErrInvalidValue},
		{"email", "not-an-email", hubsync.ErrInvalidValue},
		{"phone", []string{"x"}, hubsync.ErrInvalidValue},
	}
	for _, tt := range tests {
		_, err := l.Update(ctx, school, ann.ID, map[string]any{tt.key: tt.val})
		if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.key) {
			t.Errorf("Update(%s=%v) = %v, want %v naming the field", tt.key, tt.val, err, tt.is)
		}
	}
	if after := s.Stats().Requests; after != before {
		t.Fatalf("refused updates made %d requests, want none", after-before)
	}
	if _, err := l.Update(ctx, school, "5f0000000000000000000fff", map[string]any{"phone": "1"}); !errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("missing learner: %v", err)
	}
}

func TestLearnersCreateAndTags(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	l := newLearners(t, s, false)
	ctx := t.Context()
	got, err := l.Create(ctx, school, hubsync.NewLearner{Email: "new@example.com", Values: map[string]any{"company": "ACME"},
		Tags: []string{"from-hubspot"}, SendWelcomeEmail: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.Username != "new" || got.Values["company"] != "ACME" || fmt.Sprint(got.Tags) != "[from-hubspot]" {
		t.Fatalf("created %+v", got)
	}
	if body := string(s.LastRequestBody("POST /v2/users")); !strings.Contains(body, `"send_registration_email":true`) {
		t.Fatalf("create body %s", body)
	}
	if _, err := l.Create(ctx, school, hubsync.NewLearner{Email: "NEW@example.com", Username: "other"}); !errors.Is(err, hubsync.ErrConflict) {
		t.Fatalf("duplicate email: %v", err)
	}
	if _, err := l.Create(ctx, school, hubsync.NewLearner{Email: "x@example.com", Values: map[string]any{"last_name": "X"}}); !errors.Is(err, hubsync.ErrReadOnly) {
		t.Fatalf("read-only value: %v", err)
	}
	if _, err := l.Create(ctx, school, hubsync.NewLearner{Email: "bad"}); !errors.Is(err, hubsync.ErrInvalidValue) {
		t.Fatalf("bad email: %v", err)
	}
	if err := l.AddTags(ctx, school, got.ID, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.User(got.ID); fmt.Sprint(u.Tags) != "[from-hubspot a b]" {
		t.Fatalf("tags = %v", u.Tags)
	}
	if err := l.AddTags(ctx, school, got.ID, nil); err != nil {
		t.Fatal(err)
	}
}

func TestLearnersLastPurchaseDateCostsOneCallPerLearner(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	s.Seed(3, nil)
	ctx := t.Context()
	pay, err := s.Purchase(ctx, "learner1@example.com", learnworldstest.Payment{ProductID: "c", Price: 5})
	if err != nil {
		t.Fatal(err)
	}
	l := newLearners(t, s, true)
	p, err := l.ListPage(ctx, school, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, ln := range p.Learners {
		want := any(nil)
		if ln.Email == "learner1@example.com" {
			want = pay.PaidAt
		}
		if v, ok := ln.Values["last_purchase_date"]; !ok || v != want {
			t.Errorf("%s: last_purchase_date = %v, want %v", ln.Email, v, want)
		}
	}
	// token + page + one payments call per learner
	if n := s.Stats().Requests; n != 1+1+3 {
		t.Fatalf("requests = %d, want 5", n)
	}
}
