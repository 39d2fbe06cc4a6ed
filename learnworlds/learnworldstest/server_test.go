package learnworldstest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// call makes one raw request and returns status, Retry-After and body.
func call(t *testing.T, s *learnworldstest.Server, method, path, token, body string) (int, string, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+learnworldstest.APIPath+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Lw-Client", s.ClientID)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if strings.HasPrefix(body, "data=") {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	s := learnworldstest.NewServer()
	t.Cleanup(s.Close)
	form := func(id, secret, grant string) string {
		j, _ := json.Marshal(map[string]string{"client_id": id, "client_secret": secret, "grant_type": grant})
		return "data=" + url.QueryEscape(string(j))
	}
	st, _, body := call(t, s, "POST", "/oauth2/access_token", "", form(s.ClientID, s.ClientSecret, "client_credentials"))
	var tr struct {
		TokenData struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   int    `json:"expires_in"`
		} `json:"tokenData"`
		Success bool `json:"success"`
	}
	if err := json.Unmarshal([]byte(body), &tr); st != 200 || err != nil || !tr.Success || tr.TokenData.AccessToken == "" || tr.TokenData.ExpiresIn != 8000 {
		t.Fatalf("token: %d %s", st, body)
	}
	if st, _, _ := call(t, s, "GET", "/v2/users", tr.TokenData.AccessToken, ""); st != 200 {
		t.Fatalf("minted token refused: %d", st)
	}
	for _, bad := range []string{form(s.ClientID, "wrong", "client_credentials"), form(s.ClientID, s.ClientSecret, "password"), "data=notjson"} {
		if st, _, body := call(t, s, "POST", "/oauth2/access_token", "", bad); st == 200 || !strings.Contains(body, `"success":false`) {
			t.Errorf("bad token request %q: %d %s", bad, st, body)
		}
	}
	if st, _, body := call(t, s, "GET", "/v2/users", "nope", ""); st != 401 || !strings.Contains(body, "access_denied") {
		t.Fatalf("bad token: %d %s", st, body)
	}
}

func TestListingQuirkAndOrder(t *testing.T) {
	t.Parallel()
	s := learnworldstest.NewServer()
	t.Cleanup(s.Close)
	if err := s.Seed(5, nil); err != nil {
		t.Fatal(err)
	}
	tok := s.IssueToken()
	var page struct {
		Data []struct {
			Email string `json:"email"`
		} `json:"data"`
		Meta struct{ Page, TotalItems, TotalPages, ItemsPerPage int } `json:"meta"`
	}
	_, _, body := call(t, s, "GET", "/v2/users?items_per_page=2&page=1", tok, "")
	json.Unmarshal([]byte(body), &page)
	if page.Data[0].Email != "learner4@example.com" || page.Meta.TotalPages != 3 || page.Meta.TotalItems != 5 {
		t.Fatalf("page 1 = %s, want newest first and 3 pages", body)
	}
	_, _, body = call(t, s, "GET", "/v2/users?items_per_page=2&page=7", tok, "")
	json.Unmarshal([]byte(body), &page)
	if page.Meta.Page != 3 || len(page.Data) != 1 || page.Data[0].Email != "learner0@example.com" {
		t.Fatalf("page past the end = %s, want the last page again", body)
	}
	if st, _, _ := call(t, s, "GET", "/v2/users?items_per_page=201", tok, ""); st != 400 {
		t.Fatalf("items_per_page=201: %d", st)
	}
}

func TestRateLimitWindow(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	s := learnworldstest.NewServer(learnworldstest.WithClock(clk), learnworldstest.WithRateLimit(3, 10*time.Second), learnworldstest.WithRetryAfter(1500*time.Millisecond))
	t.Cleanup(s.Close)
	tok := s.IssueToken()
	for i := range 3 {
		if st, _, _ := call(t, s, "GET", "/v2/users", tok, ""); st != 200 {
			t.Fatalf("request %d: %d", i, st)
		}
		clk.Advance(time.Second)
	}
	st, ra, body := call(t, s, "GET", "/v2/users", tok, "")
	if st != 429 || body != `{"error":"Too many requests"}` || ra != "2" {
		t.Fatalf("4th request in the window: %d %q %s", st, ra, body)
	}
	clk.Advance(7 * time.Second) // the first request leaves the rolling window
	if st, _, _ := call(t, s, "GET", "/v2/users", tok, ""); st != 200 {
		t.Fatalf("after the window moved: %d", st)
	}
	if got := s.Stats(); got.RateLimited != 1 || got.Requests != 5 {
		t.Fatalf("stats %+v", got)
	}
}

func TestFaultsAndUnknownRoutes(t *testing.T) {
	t.Parallel()
	s := learnworldstest.NewServer()
	t.Cleanup(s.Close)
	tok := s.IssueToken()
	s.InjectFault(learnworldstest.Fault{Method: "GET", Path: "/v2/users", Status: 503})
	s.InjectFault(learnworldstest.Fault{Path: "/v2/payments", Status: 200, Body: `{"success":false,"errors":[]}`, Times: 2})
	if st, _, body := call(t, s, "GET", "/v2/users", tok, ""); st != 503 || body != `{"error":"Server Error"}` {
		t.Fatalf("fault: %d %s", st, body)
	}
	if st, _, _ := call(t, s, "GET", "/v2/users", tok, ""); st != 200 {
		t.Fatalf("fault used once, then: %d", st)
	}
	for range 2 {
		if _, _, body := call(t, s, "GET", "/v2/payments", tok, ""); !strings.Contains(body, `"success":false`) {
			t.Fatalf("200 success:false fault: %s", body)
		}
	}
	if st, _, body := call(t, s, "GET", "/v2/courses", tok, ""); st != 404 || !strings.Contains(body, `"statusCode":404`) {
		t.Fatalf("unknown route: %d %s", st, body)
	}
	if got := s.UnknownRoutes(); len(got) != 1 || got[0] != "GET /admin/api/v2/courses" {
		t.Fatalf("UnknownRoutes = %v", got)
	}
}

func TestValidationRulesAndUpdateGuards(t *testing.T) {
	t.Parallel()
	s := learnworldstest.NewServer()
	t.Cleanup(s.Close)
	if err := s.DefineField("code", learnworldstest.FieldRule{Required: true, Pattern: `[A-Z]{2}\d+`, MaxLength: 6}); err != nil {
		t.Fatal(err)
	}
	if err := s.DefineField("x", learnworldstest.FieldRule{Type: "color"}); err == nil {
		t.Fatal("unknown type accepted")
	}
	tok := s.IssueToken()
	tests := []struct {
		body, want string
	}{
		{`{"email":"a@example.com","username":"a"}`, `"cf_code":[{"0":"The 'cf_code' field is required."}]`},
		{`{"email":"a@example.com","username":"a","fields":{"cf_code":"ab1"}}`, `field format is invalid`},
		{`{"email":"a@example.com","username":"a","fields":{"cf_code":"AB12345"}}`, `greater than 6 characters`},
		{`{"email":"a@example.com","username":"a","fields":{"phone":5,"cf_code":"AB1"}}`, `'phone' field must be a string`},
	}
	for _, tt := range tests {
		st, _, body := call(t, s, "POST", "/v2/users", tok, tt.body)
		if st != 422 || !strings.Contains(body, tt.want) || !strings.Contains(body, `"statusCode":422`) {
			t.Errorf("create %s: %d %s, want 422 with %s", tt.body, st, body, tt.want)
		}
	}
	st, _, body := call(t, s, "POST", "/v2/users", tok, `{"email":"a@example.com","username":"a","fields":{"cf_code":"AB1"}}`)
	if st != 201 {
		t.Fatalf("valid create: %d %s", st, body)
	}
	if st, _, _ := call(t, s, "PUT", "/v2/users/a%40example.com", tok, `{"password":"x"}`); st != 400 {
		t.Fatalf("password in an update: %d, want 400", st)
	}
	if st, _, _ := call(t, s, "PUT", "/v2/users/a%40example.com", tok, `{"fields":{"bio":"hi"}}`); st != 200 {
		t.Fatalf("update by encoded email: %d", st)
	}
	if u, _ := s.User("a@example.com"); u.Fields["bio"] != "hi" || u.Fields["cf_code"] != "AB1" {
		t.Fatalf("fields after a partial update = %v (merged key by key)", u.Fields)
	}
}

func TestEmitterRequiresTargetSuccess(t *testing.T) {
	t.Parallel()
	hook := http.NewServeMux()
	var got []string
	hook.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get(learnworldstest.SignatureHeader))
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	target := newTarget(t, hook)
	s := learnworldstest.NewServer(learnworldstest.WithWebhook(target, "sig", false))
	t.Cleanup(s.Close)
	if _, err := s.Register(context.Background(), learnworldstest.User{Email: "a@example.com"}); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("delivery to a failing target: %v", err)
	}
	if len(got) != 1 || got[0] != "v1=sig" {
		t.Fatalf("signatures = %v", got)
	}
	if d := s.Deliveries(); len(d) != 1 || d[0].Status != 503 || d[0].Type != "userUpdated" {
		t.Fatalf("deliveries = %+v", d)
	}
	if err := s.Enroll(context.Background(), "nobody@example.com", learnworldstest.Course{ID: "c"}); err == nil {
		t.Fatal("event for an unknown learner accepted")
	}
}

func TestDefineCatalog(t *testing.T) {
	t.Parallel()
	s := learnworldstest.NewServer()
	t.Cleanup(s.Close)
	err := s.DefineCatalog([]hubsync.CustomField{
		{Name: "age", Type: hubsync.TypeNumber, Validation: hubsync.FieldRules{HasMin: true, Min: 18}},
		{Name: "cf_tier", Type: hubsync.TypeString, Validation: hubsync.FieldRules{Options: []string{"gold", "silver"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DefineCatalog([]hubsync.CustomField{{Name: "x", Type: "color"}}); err == nil {
		t.Fatal("unknown type accepted")
	}
	tok := s.IssueToken()
	st, _, body := call(t, s, "POST", "/v2/users", tok, `{"email":"a@example.com","username":"a","fields":{"cf_age":12,"cf_tier":"bronze"}}`)
	if st != 422 || !strings.Contains(body, "at least 18") || !strings.Contains(body, "selected 'cf_tier' is invalid") {
		t.Fatalf("create: %d %s", st, body)
	}
}

func TestRedeliverSendsTheSameBytes(t *testing.T) {
	t.Parallel()
	status := http.StatusServiceUnavailable
	var bodies, sigs []string
	hook := http.NewServeMux()
	hook.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies, sigs = append(bodies, string(b)), append(sigs, r.Header.Get(learnworldstest.SignatureHeader))
		w.WriteHeader(status)
	})
	s := learnworldstest.NewServer(learnworldstest.WithWebhook(newTarget(t, hook), "sig", true))
	t.Cleanup(s.Close)
	ctx := context.Background()
	if _, err := s.Register(ctx, learnworldstest.User{Email: "a@example.com"}); err == nil {
		t.Fatal("delivery to a failing target reported no error")
	}
	first := s.Deliveries()[0]
	if err := s.Redeliver(ctx, first); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("redelivery to a failing target: %v", err)
	}
	status = http.StatusOK
	if err := s.Redeliver(ctx, first); err != nil {
		t.Fatalf("redelivery: %v", err)
	}
	d := s.Deliveries()
	if len(d) != 3 || d[1].Status != 503 || d[2].Status != 200 || d[2].Type != "userUpdated" || string(d[2].Body) != string(first.Body) {
		t.Fatalf("deliveries = %+v", d)
	}
	for i := range bodies {
		if bodies[i] != bodies[0] || sigs[i] != sigs[0] {
			t.Fatalf("delivery %d differs from the first: %s %s", i, bodies[i], sigs[i])
		}
	}
}

func TestAPIWriteWebhooks(t *testing.T) {
	t.Parallel()
	var types []string
	hook := http.NewServeMux()
	hook.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		var env struct {
			Type string `json:"type"`
			Data struct {
				User struct {
					Fields map[string]any `json:"fields"`
				} `json:"user"`
				Tags []string `json:"tags"`
			} `json:"data"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &env); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		types = append(types, fmt.Sprintf("%s:%v:%v", env.Type, env.Data.User.Fields["phone"], env.Data.Tags))
		w.WriteHeader(http.StatusInternalServerError) // a failing target does not fail the API call
	})
	for _, on := range []bool{false, true} {
		types = nil
		opts := []learnworldstest.Option{learnworldstest.WithWebhook(newTarget(t, hook), "sig", false)}
		if on {
			opts = append(opts, learnworldstest.WithAPIWriteWebhooks())
		}
		s := learnworldstest.NewServer(opts...)
		t.Cleanup(s.Close)
		tok := s.IssueToken()
		st, _, body := call(t, s, "POST", "/v2/users", tok, `{"email":"a@example.com","username":"a"}`)
		if st != 201 {
			t.Fatalf("create: %d %s", st, body)
		}
		var u struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal([]byte(body), &u)
		if st, _, body := call(t, s, "PUT", "/v2/users/"+u.ID, tok, `{"fields":{"phone":"555"}}`); st != 200 {
			t.Fatalf("update: %d %s", st, body)
		}
		if st, _, body := call(t, s, "PUT", "/v2/users/"+u.ID+"/tags", tok, `{"tags":["x"],"action":"attach"}`); st != 200 {
			t.Fatalf("tags: %d %s", st, body)
		}
		if st, _, body := call(t, s, "PUT", "/v2/users/"+u.ID+"/tags", tok, `{"tags":["x"],"action":"detach"}`); st != 200 {
			t.Fatalf("tags: %d %s", st, body)
		}
		want := "[]"
		if on {
			want = "[userUpdated:<nil>:[] userUpdated:555:[] userTagAdded:<nil>:[x] userTagDeleted:<nil>:[]]"
		}
		if got := fmt.Sprint(types); got != want {
			t.Fatalf("with API write webhooks %v: webhooks %s, want %s", on, got, want)
		}
		if n := len(s.Deliveries()); on && n != 4 {
			t.Fatalf("%d deliveries recorded, want 4", n)
		}
	}
}
