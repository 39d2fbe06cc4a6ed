package hubspottest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/internal/apispec"
)

// call sends a raw request to the fake and decodes the JSON answer. Request and answer are
// validated against the OpenAPI documents when HUBSYNC_HUBSPOT_SPECS names them.
func call(t *testing.T, s *hubspottest.Server, token, method, path string, body any) (int, http.Header, map[string]any) {
	t.Helper()
	return send(t, apispec.FromEnv(t, "HUBSYNC_HUBSPOT_SPECS").Transport(t, nil), s, token, method, path, body)
}

// callUnchecked is call without spec validation, for requests that are off-spec on purpose (an
// unknown route, the documented object form of search sorts that the documents type as strings).
func callUnchecked(t *testing.T, s *hubspottest.Server, token, method, path string, body any) (int, http.Header, map[string]any) {
	t.Helper()
	return send(t, http.DefaultTransport, s, token, method, path, body)
}

func send(t *testing.T, rt http.RoundTripper, s *hubspottest.Server, token, method, path string, body any) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("answer %s is not JSON: %v", raw, err)
		}
	}
	return resp.StatusCode, resp.Header, out
}

func upsertBody(inputs ...map[string]any) map[string]any { return map[string]any{"inputs": inputs} }

func in(email string, props map[string]string) map[string]any {
	if props == nil {
		props = map[string]string{}
	}
	return map[string]any{"id": email, "idProperty": "email", "properties": props}
}

// searchBody is a complete search request (the documents require every field).
func searchBody(limit int, after string, sorts []any) map[string]any {
	if sorts == nil {
		sorts = []any{}
	}
	return map[string]any{"filterGroups": []any{}, "sorts": sorts, "properties": []string{"firstname"}, "limit": limit, "after": after}
}

func TestUpsertValidationErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     map[string]any
		wantCode string // an errors[].code, or "" to check the message
		wantMsg  string
	}{
		{"unknown property", upsertBody(in("a@x.com", map[string]string{"nope": "1"})), "PROPERTY_DOESNT_EXIST", ""},
		{"read-only property", upsertBody(in("a@x.com", map[string]string{"createdate": "2026-01-01T00:00:00Z"})), "READ_ONLY_VALUE", ""},
		{"calculated property", upsertBody(in("a@x.com", map[string]string{"num_associated_deals": "2"})), "READ_ONLY_VALUE", ""},
		{"date not at midnight", upsertBody(in("a@x.com", map[string]string{"date_of_birth": "1430438400001"})), "INVALID_DATE", ""},
		{"date in a bad format", upsertBody(in("a@x.com", map[string]string{"date_of_birth": "01/05/2015"})), "INVALID_DATE", ""},
		{"malformed number", upsertBody(in("a@x.com", map[string]string{"annualrevenue": "1,000"})), "INVALID_INTEGER", ""},
		{"invalid email", upsertBody(in("not-an-email", nil)), "INVALID_EMAIL", ""},
		{"unknown option", upsertBody(in("a@x.com", map[string]string{"lifecyclestage": "Lead"})), "INVALID_OPTION", ""},
		{"duplicate ids", upsertBody(in("a@x.com", nil), in("A@x.com", nil)), "", "Duplicate IDs"},
		{"more than 100 inputs", func() map[string]any {
			var ins []map[string]any
			for i := range 101 {
				ins = append(ins, in(fmt.Sprintf("u%d@x.com", i), nil))
			}
			return upsertBody(ins...)
		}(), "", "limit is 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := hubspottest.NewServer()
			t.Cleanup(s.Close)
			tok, _ := s.MintToken()
			status, _, body := call(t, s, tok, "POST", "/crm/objects/2026-03/contacts/batch/upsert", tt.body)
			if status != 400 || body["category"] != "VALIDATION_ERROR" || body["correlationId"] == "" {
				t.Fatalf("status %d body %v, want a 400 VALIDATION_ERROR", status, body)
			}
			if tt.wantMsg != "" && !strings.Contains(body["message"].(string), tt.wantMsg) {
				t.Fatalf("message %q, want it to mention %q", body["message"], tt.wantMsg)
			}
			if tt.wantCode != "" {
				found := false
				errs, _ := body["errors"].([]any)
				for _, e := range errs {
					found = found || e.(map[string]any)["code"] == tt.wantCode
				}
				if !found {
					t.Fatalf("errors %v lack code %s", body["errors"], tt.wantCode)
				}
			}
			if n := len(s.Contacts()); n != 0 {
				t.Fatalf("a refused batch wrote %d contacts", n)
			}
		})
	}
}

func TestEmailUniqueness(t *testing.T) {
	t.Parallel()
	s := hubspottest.NewServer()
	t.Cleanup(s.Close)
	id, err := s.SeedContact(map[string]string{"email": "main@x.com", "hs_additional_emails": "alias@x.com;old@x.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SeedContact(map[string]string{"email": "ALIAS@x.com"}); err == nil {
		t.Fatal("a second contact took an additional email")
	}
	if _, err := s.AdminUpsertContact("other@x.com", map[string]string{"hs_additional_emails": "main@x.com"}, hubspottest.SourceCRMUI); err == nil {
		t.Fatal("an additional email took another contact's primary email")
	}
	tok, _ := s.MintToken()
	// Upserting by an additional email updates the contact that owns it.
	status, _, body := call(t, s, tok, "POST", "/crm/v3/objects/contacts/batch/upsert", upsertBody(in("old@x.com", map[string]string{"firstname": "O"})))
	if status != 200 {
		t.Fatalf("status %d %v", status, body)
	}
	r := body["results"].([]any)[0].(map[string]any)
	if r["id"] != id || r["new"] != false {
		t.Fatalf("upsert by an additional email gave %v, want an update of %s", r, id)
	}
	if ct, _ := s.Contact("main@x.com"); ct.Properties["firstname"] != "O" || len(s.Contacts()) != 1 {
		t.Fatalf("contacts %+v", s.Contacts())
	}
}

func TestAuthErrors(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	s := hubspottest.NewServer(hubspottest.WithClock(clk), hubspottest.WithTokenTTL(time.Minute))
	t.Cleanup(s.Close)
	tok, _ := s.MintToken()
	if status, _, _ := call(t, s, tok, "GET", "/crm/v3/properties/contacts", nil); status != 200 {
		t.Fatalf("fresh token: %d", status)
	}
	clk.Advance(61 * time.Second)
	status, h, body := call(t, s, tok, "GET", "/crm/v3/properties/contacts", nil)
	if status != 401 || body["category"] != "EXPIRED_AUTHENTICATION" || !strings.Contains(body["message"].(string), "expired 1 second(s) ago") || h.Get("X-HubSpot-Auth-Failure") == "" {
		t.Fatalf("expired token: %d %v", status, body)
	}
	if status, _, body := call(t, s, "", "GET", "/crm/v3/properties/contacts", nil); status != 401 || body["category"] != "INVALID_AUTHENTICATION" {
		t.Fatalf("no token: %d %v", status, body)
	}
	if status, _, _ := callUnchecked(t, s, tok, "GET", "/crm/v4/nothing", nil); status != 404 || s.Stats().Unknown != 1 {
		t.Fatalf("unknown route: %d, stats %+v", status, s.Stats())
	}
}

func TestRateLimitAnswers(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	s := hubspottest.NewServer(hubspottest.WithClock(clk), hubspottest.WithRateLimit(3, time.Second), hubspottest.WithSearchRateLimit(2, time.Second))
	t.Cleanup(s.Close)
	tok, _ := s.MintToken()
	for i := range 3 {
		status, h, _ := call(t, s, tok, "GET", "/crm/v3/properties/contacts", nil)
		if status != 200 || h.Get("X-HubSpot-RateLimit-Max") != "3" || h.Get("X-HubSpot-RateLimit-Interval-Milliseconds") != "1000" ||
			h.Get("X-HubSpot-RateLimit-Remaining") != fmt.Sprint(2-i) {
			t.Fatalf("request %d: %d %v", i, status, h)
		}
	}
	status, _, body := call(t, s, tok, "GET", "/crm/v3/properties/contacts", nil)
	if status != 429 || body["policyName"] != "TEN_SECONDLY_ROLLING" || body["errorType"] != "RATE_LIMIT" {
		t.Fatalf("4th request: %d %v", status, body)
	}
	clk.Advance(time.Second) // the rolling window moves on
	if status, _, _ := call(t, s, tok, "GET", "/crm/v3/properties/contacts", nil); status != 200 {
		t.Fatalf("after the window: %d", status)
	}
	search := searchBody(1, "0", nil)
	for range 2 {
		if status, h, _ := call(t, s, tok, "POST", "/crm/v3/objects/contacts/search", search); status != 200 || h.Get("X-HubSpot-RateLimit-Max") != "" {
			t.Fatalf("search: %d, rate headers %v (search answers carry none)", status, h)
		}
	}
	status, _, body = call(t, s, tok, "POST", "/crm/v3/objects/contacts/search", search)
	if status != 429 || body["message"] != "You have reached your secondly limit." {
		t.Fatalf("3rd search: %d %v", status, body)
	}
	if st := s.Stats(); st.RateLimited != 2 || st.MaxInWindow != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSearchPagingCap(t *testing.T) {
	t.Parallel()
	s := hubspottest.NewServer(hubspottest.WithSearchRateLimit(0, 0))
	t.Cleanup(s.Close)
	tok, _ := s.MintToken()
	status, _, body := call(t, s, tok, "POST", "/crm/v3/objects/contacts/search", searchBody(200, "10000", nil))
	if status != 400 || !strings.Contains(body["message"].(string), "10000") {
		t.Fatalf("paging past the cap: %d %v", status, body)
	}
	status, _, _ = call(t, s, tok, "POST", "/crm/v3/objects/contacts/search", searchBody(201, "0", nil))
	if status != 400 {
		t.Fatalf("limit 201: %d", status)
	}
	// Both sort forms are accepted: the documented object and the spec's string.
	for i := range 3 {
		_, _ = s.SeedContact(map[string]string{"email": fmt.Sprintf("s%d@x.com", i), "firstname": fmt.Sprint("n", i)})
	}
	for _, sorts := range []any{[]any{map[string]string{"propertyName": "firstname", "direction": "DESCENDING"}}, []any{"-firstname"}} {
		_, _, body := callUnchecked(t, s, tok, "POST", "/crm/v3/objects/contacts/search", searchBody(10, "0", sorts.([]any)))
		first := body["results"].([]any)[0].(map[string]any)["properties"].(map[string]any)["firstname"]
		if first != "n2" || body["total"].(float64) != 3 {
			t.Fatalf("sorts %v: first %v, total %v", sorts, first, body["total"])
		}
	}
}

func TestInjectedFaults(t *testing.T) {
	t.Parallel()
	s := hubspottest.NewServer()
	t.Cleanup(s.Close)
	tok, _ := s.MintToken()
	s.InjectFault(hubspottest.Fault{PathPrefix: "/crm/v3/properties", Status: 477, RetryAfter: 90 * time.Second, Times: 2})
	for range 2 {
		req, _ := http.NewRequest("GET", s.URL+"/crm/v3/properties/contacts", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 477 || resp.Header.Get("Retry-After") != "90" {
			t.Fatalf("fault: %d %v", resp.StatusCode, resp.Header)
		}
	}
	if status, _, _ := call(t, s, tok, "GET", "/crm/v3/properties/contacts", nil); status != 200 {
		t.Fatalf("after the fault: %d", status)
	}
	s.InjectFault(hubspottest.Fault{Drop: true})
	req, _ := http.NewRequest("GET", s.URL+"/crm/v3/properties/contacts", nil)
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}} // no transparent retry on a reused connection
	if resp, err := fresh.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("dropped connection answered")
	}
	if st := s.Stats(); st.Faults != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCreateAndUpdateSemantics(t *testing.T) {
	t.Parallel()
	s := hubspottest.NewServer()
	t.Cleanup(s.Close)
	tok, _ := s.MintToken()
	const base = "/crm/objects/2026-03/contacts"
	status, _, body := call(t, s, tok, "POST", base, map[string]any{"properties": map[string]string{"email": "c@x.com", "firstname": "C"}, "associations": []any{}})
	if status != 201 || body["id"] == "" {
		t.Fatalf("create: %d %v", status, body)
	}
	id := body["id"].(string)
	status, _, body = call(t, s, tok, "POST", base, map[string]any{"properties": map[string]string{"email": "C@x.com"}, "associations": []any{}})
	if status != 409 || body["category"] != "CONFLICT" || body["message"] != "Contact already exists. Existing ID: "+id {
		t.Fatalf("create existing: %d %v", status, body)
	}
	// batch/create: an existing email fails the whole batch without trace ids, 207 with them.
	batch := func(traced bool) map[string]any {
		a := map[string]any{"properties": map[string]string{"email": "n@x.com"}, "associations": []any{}}
		b := map[string]any{"properties": map[string]string{"email": "c@x.com"}, "associations": []any{}}
		if traced {
			a["objectWriteTraceId"], b["objectWriteTraceId"] = "a", "b"
		}
		return map[string]any{"inputs": []any{a, b}}
	}
	if status, _, body := call(t, s, tok, "POST", base+"/batch/create", batch(false)); status != 409 {
		t.Fatalf("untraced batch create: %d %v", status, body)
	}
	status, _, body = call(t, s, tok, "POST", base+"/batch/create", batch(true))
	if status != 207 || len(body["results"].([]any)) != 1 || body["numErrors"].(float64) != 1 {
		t.Fatalf("traced batch create: %d %v", status, body)
	}
	// batch/update by email is refused; by id it works; unknown ids come back in a 207.
	upd := map[string]any{"inputs": []any{map[string]any{"id": "c@x.com", "idProperty": "email", "properties": map[string]string{"firstname": "X"}}}}
	if status, _, body := call(t, s, tok, "POST", base+"/batch/update", upd); status != 400 || !strings.Contains(body["message"].(string), "non-unique") {
		t.Fatalf("update by email: %d %v", status, body)
	}
	upd = map[string]any{"inputs": []any{map[string]any{"id": id, "properties": map[string]string{"firstname": "X"}}, map[string]any{"id": "424242", "properties": map[string]string{}}}}
	if status, _, body := call(t, s, tok, "POST", base+"/batch/update", upd); status != 207 || body["results"].([]any)[0].(map[string]any)["properties"].(map[string]any)["firstname"] != "X" {
		t.Fatalf("update by id: %d %v", status, body)
	}
	// PATCH by email; changing the email onto another contact's conflicts.
	if status, _, body := call(t, s, tok, "PATCH", base+"/c@x.com?idProperty=email", map[string]any{"properties": map[string]string{"lastname": "L"}}); status != 200 {
		t.Fatalf("patch: %d %v", status, body)
	}
	if status, _, _ := call(t, s, tok, "PATCH", base+"/"+id, map[string]any{"properties": map[string]string{"email": "n@x.com"}}); status != 409 {
		t.Fatalf("patch onto a taken email: %d", status)
	}
	if ct, _ := s.Contact(id); ct.Properties["firstname"] != "X" || ct.Properties["lastname"] != "L" {
		t.Fatalf("contact %+v", ct.Properties)
	}
}
