package hubspot_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/hubspot"
)

// recorded is one request an httptest handler saw.
type recorded struct {
	method, path, query, auth, contentType string
	body                                   []byte
}

// shapeServer answers every request with answer and records it.
func shapeServer(t *testing.T, answer func(r recorded) (int, string)) (*httptest.Server, func() []recorded) {
	var mu sync.Mutex
	var got []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec := recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), b}
		mu.Lock()
		got = append(got, rec)
		mu.Unlock()
		status, body := answer(rec)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []recorded {
		mu.Lock()
		defer mu.Unlock()
		return append([]recorded(nil), got...)
	}
}

func shapeClient(t *testing.T, url string, opts ...hubspot.Option) *hubspot.Client {
	c, err := hubspot.New(append([]hubspot.Option{hubspot.WithBaseURL(url), hubspot.WithTokenSource(staticTokens("tok-1"))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(w, g); d != "" {
		t.Fatalf("body mismatch (-want +got):\n%s", d)
	}
}

func TestUpsertRequestShape(t *testing.T) {
	t.Parallel()
	for _, v := range versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			// Results come back out of order, without emails: only objectWriteTraceId maps them.
			srv, got := shapeServer(t, func(recorded) (int, string) {
				return 200, `{"status":"COMPLETE","startedAt":"2026-01-01T00:00:00Z","completedAt":"2026-01-01T00:00:00.5Z","results":[
				{"id":"2","new":false,"objectWriteTraceId":"1","properties":{},"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","archived":false},
				{"id":"1","new":true,"objectWriteTraceId":"0","properties":{"lifecyclestage":"lead"},"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","archived":false}]}`
			})
			c := shapeClient(t, srv.URL, hubspot.WithVersion(v))
			res, err := c.BatchUpsertByEmail(ctxT(t), []hubspot.UpsertInput{
				{Email: "A@X.com", Properties: map[string]string{"firstname": "A", "lifecyclestage": "lead"}},
				{Email: "b@x.com", Properties: map[string]string{"firstname": ""}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if res[0].ID != "1" || !res[0].Created || res[0].Properties["lifecyclestage"] != "lead" || res[1].ID != "2" || res[1].Created {
				t.Fatalf("results %+v", res)
			}
			r := got()[0]
			if r.method != "POST" || r.path != contactsBase(v)+"/batch/upsert" || r.auth != "Bearer tok-1" || r.contentType != "application/json" {
				t.Fatalf("request %s %s auth=%q type=%q", r.method, r.path, r.auth, r.contentType)
			}
			jsonEqual(t, r.body, `{"inputs":[
				{"id":"a@x.com","idProperty":"email","objectWriteTraceId":"0","properties":{"firstname":"A","lifecyclestage":"lead"}},
				{"id":"b@x.com","idProperty":"email","objectWriteTraceId":"1","properties":{"firstname":""}}]}`)
		})
	}
}

func TestUpsert207WithIDsOnly(t *testing.T) {
	t.Parallel()
	srv, got := shapeServer(t, func(recorded) (int, string) {
		return 207, `{"status":"COMPLETE","startedAt":"2026-01-01T00:00:00Z","completedAt":"2026-01-01T00:00:00Z","numErrors":1,
		"results":[{"id":"7","new":true,"properties":{"email":"ok@x.com"},"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","archived":false}],
		"errors":[{"status":"error","category":"VALIDATION_ERROR","message":"Property values were not valid","context":{"ids":["BAD@x.com"]},"errors":[{"message":"bad","code":"INVALID_EMAIL"}],"links":{}}]}`
	})
	c := shapeClient(t, srv.URL)
	res, err := c.BatchUpsertByEmail(ctxT(t), []hubspot.UpsertInput{{Email: "bad@x.com"}, {Email: "ok@x.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err == nil || res[1].Err != nil || res[1].ID != "7" {
		t.Fatalf("results %+v", res)
	}
	if n := len(got()); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}

func TestUpsertWholeBatchConflictIsBisected(t *testing.T) {
	t.Parallel()
	// Any batch holding the poisoned email fails as a whole with 409, as HubSpot may answer.
	srv, got := shapeServer(t, func(r recorded) (int, string) {
		if strings.Contains(string(r.body), "poison@x.com") {
			return 409, `{"status":"error","message":"Contact already exists. Existing ID: 12","correlationId":"aeb5f871-7f07-4993-9211-075dc63e7cbf","category":"CONFLICT"}`
		}
		var in struct {
			Inputs []struct {
				ID    string `json:"id"`
				Trace string `json:"objectWriteTraceId"`
			} `json:"inputs"`
		}
		_ = json.Unmarshal(r.body, &in)
		var rs []string
		for _, x := range in.Inputs {
			rs = append(rs, `{"id":"1","new":true,"objectWriteTraceId":"`+x.Trace+`","properties":{},"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","archived":false}`)
		}
		return 200, `{"status":"COMPLETE","startedAt":"2026-01-01T00:00:00Z","completedAt":"2026-01-01T00:00:00Z","results":[` + strings.Join(rs, ",") + `]}`
	})
	c := shapeClient(t, srv.URL)
	var in []hubspot.UpsertInput
	for i := range 100 {
		in = append(in, hubspot.UpsertInput{Email: "u" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + "@x.com"})
	}
	in[57].Email = "poison@x.com"
	res, err := c.BatchUpsertByEmail(ctxT(t), in)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		var ae *hubspot.APIError
		if i == 57 {
			if !asAPI(r.Err, &ae) || ae.StatusCode != 409 || ae.Category != "CONFLICT" {
				t.Fatalf("poisoned input: %v", r.Err)
			}
			continue
		}
		if r.Err != nil || r.ID == "" {
			t.Fatalf("input %d: %+v", i, r)
		}
	}
	if n := len(got()); n > 16 {
		t.Fatalf("%d requests to isolate one bad input among 100, want at most 16", n)
	}
}

func TestSearchRequestShape(t *testing.T) {
	t.Parallel()
	srv, got := shapeServer(t, func(recorded) (int, string) {
		return 200, `{"total":1,"results":[{"id":"5","properties":{"email":"s@x.com","lastmodifieddate":"2026-01-01T00:00:01Z"},"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:01Z","archived":false}]}`
	})
	c := shapeClient(t, srv.URL)
	var n int
	for _, err := range c.SearchModifiedSince(ctxT(t), time.UnixMilli(1579514400000), []string{"firstname"}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	r := got()[0]
	if n != 1 || r.path != "/crm/objects/2026-03/contacts/search" {
		t.Fatalf("%d results, path %s", n, r.path)
	}
	jsonEqual(t, r.body, `{"filterGroups":[{"filters":[{"propertyName":"lastmodifieddate","operator":"GTE","value":"1579514400000"}]}],
		"sorts":[{"propertyName":"lastmodifieddate","direction":"ASCENDING"}],"properties":["firstname","email","lastmodifieddate"],"limit":200,"after":"0"}`)
}

func TestTokenRequestShapes(t *testing.T) {
	t.Parallel()
	srv, got := shapeServer(t, func(r recorded) (int, string) {
		if strings.HasSuffix(r.path, "/revoke") {
			return 204, ""
		}
		return 200, `{"access_token":"new-access","refresh_token":"","expires_in":1800,"token_type":"bearer","hub_id":62515,"token_use":"access_token"}`
	})
	for _, v := range versions {
		o, err := hubspot.NewOAuth(hubspot.App{ClientID: "cid", ClientSecret: "csecret", RedirectURL: "https://x.example/cb"}, hubspot.WithBaseURL(srv.URL), hubspot.WithVersion(v))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := o.Refresh(ctxT(t), "rt-1")
		if err != nil || tok.RefreshToken != "rt-1" || tok.HubID != 62515 {
			t.Fatalf("Refresh = %+v, %v (a missing refresh_token keeps the old one)", tok, err)
		}
		if _, err := o.Exchange(ctxT(t), "code-1"); err != nil {
			t.Fatal(err)
		}
		if err := o.Revoke(ctxT(t), "rt-1"); err != nil {
			t.Fatal(err)
		}
	}
	reqs := got()
	want := []struct{ path, form string }{
		{"/oauth/v3/token", "client_id=cid&client_secret=csecret&grant_type=refresh_token&refresh_token=rt-1"},
		{"/oauth/v3/token", "client_id=cid&client_secret=csecret&code=code-1&grant_type=authorization_code&redirect_uri=https%3A%2F%2Fx.example%2Fcb"},
		{"/oauth/v3/token/revoke", "client_id=cid&client_secret=csecret&token=rt-1&token_type_hint=refresh_token"},
		{"/oauth/2026-03/token", "client_id=cid&client_secret=csecret&grant_type=refresh_token&refresh_token=rt-1"},
		{"/oauth/2026-03/token", "client_id=cid&client_secret=csecret&code=code-1&grant_type=authorization_code&redirect_uri=https%3A%2F%2Fx.example%2Fcb"},
		{"/oauth/2026-03/token/revoke", "client_id=cid&client_secret=csecret&token=rt-1&token_type_hint=refresh_token"},
	}
	if len(reqs) != len(want) {
		t.Fatalf("%d requests, want %d", len(reqs), len(want))
	}
	for i, w := range want {
		r := reqs[i]
		if r.path != w.path || string(r.body) != w.form || r.query != "" || r.auth != "" || r.contentType != "application/x-www-form-urlencoded" {
			t.Errorf("request %d: %s %q body %q auth %q type %q; want %s %q", i, r.method, r.path, r.body, r.auth, r.contentType, w.path, w.form)
		}
	}
}

func TestRevokedRefreshShapes(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, body string }{
		{"oauth body", `{"error":"invalid_grant","error_description":"refresh token is invalid, expired or revoked","status":"BAD_REFRESH_TOKEN","message":"refresh token is invalid, expired or revoked"}`},
		{"legacy body", `{"status":"BAD_REFRESH_TOKEN","message":"missing or invalid refresh token"}`},
	}
	for _, tt := range tests {
		srv, _ := shapeServer(t, func(recorded) (int, string) { return 400, tt.body })
		o, _ := hubspot.NewOAuth(hubspot.App{ClientID: "c", ClientSecret: "s", RedirectURL: "r"}, hubspot.WithBaseURL(srv.URL))
		if _, err := o.Refresh(ctxT(t), "rt"); !isRevoked(err) {
			t.Errorf("%s: err = %v, want ErrConnectionRevoked", tt.name, err)
		}
	}
}

func TestTimelineRequestShapes(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	ev := hubspot.TimelineEvent{ID: "occ-1", Type: "T", Email: "E@x.com", Timestamp: at, Properties: map[string]string{"course": "c1"}}
	tests := []struct {
		flavour hubspot.TimelineFlavour
		path    string
		answer  string
		body    string
	}{
		{hubspot.TimelineLegacyV3, "/integrators/timeline/v3/events/batch/create",
			`{"status":"COMPLETE","startedAt":"2026-01-01T00:00:00Z","completedAt":"2026-01-01T00:00:00Z","results":[]}`,
			`{"inputs":[{"id":"occ-1","eventTemplateId":"T","tokens":{"course":"c1"},"email":"e@x.com","timestamp":"2026-05-06T07:08:09Z"}]}`},
		{hubspot.TimelineAppEvents, "/integrators/timeline/2026-03/events/batch",
			`{"status":"COMPLETE","startedAt":"2026-01-01T00:00:00Z","completedAt":"2026-01-01T00:00:00Z","results":[]}`,
			`{"inputs":[{"id":"occ-1","eventTypeName":"T","properties":{"course":"c1"},"email":"e@x.com","timestamp":"2026-05-06T07:08:09Z"}]}`},
	}
	for _, tt := range tests {
		srv, got := shapeServer(t, func(recorded) (int, string) { return 200, tt.answer })
		c := shapeClient(t, srv.URL, hubspot.WithTimelineFlavour(tt.flavour))
		res, err := c.CreateTimelineEvents(ctxT(t), []hubspot.TimelineEvent{ev})
		if err != nil || res[0].Err != nil {
			t.Fatalf("%s: %v %v", tt.flavour, err, res)
		}
		r := got()[0]
		if r.path != tt.path {
			t.Fatalf("%s: path %s", tt.flavour, r.path)
		}
		jsonEqual(t, r.body, tt.body)
	}
}

// TestTimelineNamedConflict covers a 409 that names the occurrence that exists: it is settled as
// delivered and the batch is sent again without it, in one more request.
func TestTimelineNamedConflict(t *testing.T) {
	t.Parallel()
	srv, got := shapeServer(t, func(r recorded) (int, string) {
		if strings.Contains(string(r.body), `"occ-2"`) {
			return 409, `{"status":"error","message":"An occurrence already exists","correlationId":"aeb5f871-7f07-4993-9211-075dc63e7cbf","category":"CONFLICT","context":{"ids":["occ-2"]}}`
		}
		return 200, `{"status":"COMPLETE","startedAt":"2026-01-01T00:00:00Z","completedAt":"2026-01-01T00:00:00Z","results":[]}`
	})
	c := shapeClient(t, srv.URL)
	var evs []hubspot.TimelineEvent
	for _, id := range []string{"occ-1", "occ-2", "occ-3"} {
		evs = append(evs, hubspot.TimelineEvent{ID: id, Type: "T", Email: "e@x.com"})
	}
	res, err := c.CreateTimelineEvents(ctxT(t), evs)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[0].AlreadyDelivered || !res[1].AlreadyDelivered || res[2].Err != nil || res[2].AlreadyDelivered {
		t.Fatalf("results %+v", res)
	}
	if reqs := got(); len(reqs) != 2 || strings.Contains(string(reqs[1].body), "occ-2") {
		t.Fatalf("%d requests; the retry must leave occ-2 out", len(reqs))
	}
}

// TestNullPropertiesAccepted: real HubSpot answers null for a defined but empty property.
func TestNullPropertiesAccepted(t *testing.T) {
	t.Parallel()
	srv, _ := shapeServer(t, func(recorded) (int, string) {
		return 200, `{"id":"9","properties":{"email":"n@x.com","firstname":null},"createdAt":"2026-01-01T00:00:00.123Z","updatedAt":"2026-01-01T00:00:00Z","archived":false}`
	})
	ct, err := shapeClient(t, srv.URL).GetContact(ctxT(t), "9", []string{"email", "firstname"})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := ct.Properties["firstname"]; !ok || v != "" || ct.Email() != "n@x.com" {
		t.Fatalf("properties %+v", ct.Properties)
	}
}

// TestOAuth429Waits: token calls have no rate limiter of their own, yet a 429 still makes them
// wait out the window before the retry.
func TestOAuth429Waits(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv, _ := shapeServer(t, func(recorded) (int, string) {
		if n.Add(1) == 1 {
			return 429, `{"status":"error","message":"You have reached your secondly limit.","errorType":"RATE_LIMIT","policyName":"SECONDLY"}`
		}
		return 200, `{"access_token":"a","refresh_token":"r","expires_in":1800,"token_type":"bearer","token_use":"access_token"}`
	})
	clk := clock.NewFake(time.Time{})
	autoAdvance(t, clk)
	o, _ := hubspot.NewOAuth(hubspot.App{ClientID: "c", ClientSecret: "s", RedirectURL: "r"}, hubspot.WithBaseURL(srv.URL), hubspot.WithClock(clk))
	start := clk.Now()
	if _, err := o.Refresh(ctxT(t), "r"); err != nil {
		t.Fatal(err)
	}
	if waited := clk.Now().Sub(start); waited < time.Second {
		t.Fatalf("retried after %v, want a 1 s wait", waited)
	}
}

// TestUpsert207UnnamedErrors: a 207 whose errors name no input is split until each error lands on
// its input.
func TestUpsert207UnnamedErrors(t *testing.T) {
	t.Parallel()
	srv, _ := shapeServer(t, func(r recorded) (int, string) {
		var in struct {
			Inputs []struct {
				ID    string `json:"id"`
				Trace string `json:"objectWriteTraceId"`
			} `json:"inputs"`
		}
		_ = json.Unmarshal(r.body, &in)
		var rs, errs []string
		for _, x := range in.Inputs {
			if x.ID == "bad@x.com" {
				errs = append(errs, `{"status":"error","category":"VALIDATION_ERROR","message":"something was wrong","context":{},"errors":[],"links":{}}`)
				continue
			}
			rs = append(rs, `{"id":"1","new":false,"objectWriteTraceId":"`+x.Trace+`","properties":{},"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","archived":false}`)
		}
		status := 200
		if len(errs) > 0 {
			status = 207
		}
		return status, `{"status":"COMPLETE","startedAt":"2026-01-01T00:00:00Z","completedAt":"2026-01-01T00:00:00Z","results":[` + strings.Join(rs, ",") + `],"errors":[` + strings.Join(errs, ",") + `]}`
	})
	res, err := shapeClient(t, srv.URL).BatchUpsertByEmail(ctxT(t), []hubspot.UpsertInput{{Email: "a@x.com"}, {Email: "bad@x.com"}, {Email: "c@x.com"}})
	if err != nil {
		t.Fatal(err)
	}
	var ae *hubspot.APIError
	if res[0].Err != nil || res[2].Err != nil || !asAPI(res[1].Err, &ae) || ae.StatusCode != 400 {
		t.Fatalf("results %+v", res)
	}
}
