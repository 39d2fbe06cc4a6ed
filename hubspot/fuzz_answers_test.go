package hubspot_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/hubsync/hubsync/hubspot"
)

// The fuzz targets of this file decode whatever HubSpot might answer, through the exported client
// over a transport that returns the fuzzed status and body (no network, no retries, no waits): a
// call must return (never panic or hang) and what it returns must hold together.

// answerStatuses are the statuses a fuzzed answer carries, picked by index.
var answerStatuses = []int{200, 201, 204, 207, 400, 401, 403, 404, 409, 423, 429, 500, 502, 503}

// answer is an http.RoundTripper returning one status and body to every request.
type answer struct {
	status int
	body   []byte
}

func (a answer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: a.status, Status: http.StatusText(a.status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(a.body)), Request: r,
	}, nil
}

func answering(status uint8, body []byte) answer {
	return answer{status: answerStatuses[int(status)%len(answerStatuses)], body: body}
}

// fuzzClient is a client whose every request gets a's answer, with no retries and a budget it
// never waits for.
func fuzzClient(t *testing.T, a answer) *hubspot.Client {
	c, err := hubspot.New(hubspot.WithBaseURL("https://api.hubapi.test"), hubspot.WithHTTPClient(&http.Client{Transport: a}),
		hubspot.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "fuzz-access-token"})),
		hubspot.WithRetry(0, 0), hubspot.WithRateLimit(1_000_000, time.Second), hubspot.WithSearchRateLimit(1_000_000, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// answerCtx bounds one fuzzed call: a call that runs into it hung on an answer.
func answerCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func noHang(t *testing.T, ctx context.Context, what string, err error) {
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		t.Fatalf("%s hung on the answer: %v", what, err)
	}
}

// FuzzBatchUpsertAnswer decodes batch upsert answers (200, 207 multi-status, errors): one result
// per input, in input order, each with the email sent or an error.
func FuzzBatchUpsertAnswer(f *testing.F) {
	f.Add(uint8(0), []byte(`{"status":"COMPLETE","results":[{"id":"1","new":true,"properties":{"email":"a@x.example"}},{"id":"2","properties":{"email":"b@x.example"}}]}`))
	f.Add(uint8(3), []byte(`{"status":"COMPLETE","results":[{"id":"1","properties":{"email":"a@x.example"}}],"numErrors":1,"errors":[{"status":"error","category":"VALIDATION_ERROR","message":"Property values were not valid","context":{"email":["b@x.example"]}}]}`))
	f.Add(uint8(4), []byte(`{"status":"error","message":"Invalid input JSON","category":"VALIDATION_ERROR","errors":[{"message":"bad","context":{"propertyName":["x"]}}]}`))
	f.Add(uint8(3), []byte(`{"results":[{"id":"1","properties":null},{}],"errors":[{"context":null}]}`))
	f.Add(uint8(0), []byte(`[]`))
	f.Fuzz(func(t *testing.T, status uint8, body []byte) {
		ctx := answerCtx(t)
		in := []hubspot.UpsertInput{{Email: "A@x.example", Properties: map[string]string{"firstname": "A"}}, {Email: "b@x.example"}, {Email: "c@x.example"}}
		res, err := fuzzClient(t, answering(status, body)).BatchUpsertByEmail(ctx, in)
		noHang(t, ctx, "BatchUpsertByEmail", err)
		if err != nil {
			return
		}
		if len(res) != len(in) {
			t.Fatalf("%d results for %d inputs", len(res), len(in))
		}
		for i, r := range res {
			if r.Email != hubspot.FoldEmail(in[i].Email) {
				t.Fatalf("result %d is for %q, want %q", i, r.Email, hubspot.FoldEmail(in[i].Email))
			}
		}
	})
}

// FuzzBatchReadAnswer decodes batch read answers, by email and by id: only keys asked for come
// back.
func FuzzBatchReadAnswer(f *testing.F) {
	f.Add(uint8(0), []byte(`{"status":"COMPLETE","results":[{"id":"1","properties":{"email":"a@x.example","hs_object_id":"1"}}]}`))
	f.Add(uint8(3), []byte(`{"status":"COMPLETE","results":[],"errors":[{"status":"error","category":"OBJECT_NOT_FOUND","context":{"ids":["b@x.example"]}}]}`))
	f.Add(uint8(0), []byte(`{"results":[{"id":"9","properties":{"email":"stranger@x.example"}},{"id":"1"}]}`))
	f.Fuzz(func(t *testing.T, status uint8, body []byte) {
		ctx := answerCtx(t)
		c := fuzzClient(t, answering(status, body))
		byEmail, err := c.BatchReadByEmail(ctx, []string{"a@x.example", "B@x.example"}, []string{"firstname"})
		noHang(t, ctx, "BatchReadByEmail", err)
		for k := range byEmail {
			if k != "a@x.example" && k != "b@x.example" {
				t.Fatalf("BatchReadByEmail returned %q, never asked for", k)
			}
		}
		byID, err := c.BatchReadByID(ctx, []string{"1", "2"}, nil)
		noHang(t, ctx, "BatchReadByID", err)
		for k := range byID {
			if k != "1" && k != "2" {
				t.Fatalf("BatchReadByID returned %q, never asked for", k)
			}
		}
	})
}

// FuzzPropertiesAnswer decodes property lists.
func FuzzPropertiesAnswer(f *testing.F) {
	f.Add(uint8(0), []byte(`{"results":[{"name":"email","label":"Email","type":"string","fieldType":"text","modificationMetadata":{"readOnlyValue":false}},{"name":"hs_calculated","type":"number","calculated":true,"options":[{"label":"a","value":"1"}]}]}`))
	f.Add(uint8(0), []byte(`{"results":null}`))
	f.Add(uint8(8), []byte(`{"status":"error","message":"x"}`))
	f.Fuzz(func(t *testing.T, status uint8, body []byte) {
		ctx := answerCtx(t)
		props, err := fuzzClient(t, answering(status, body)).ListProperties(ctx, false)
		noHang(t, ctx, "ListProperties", err)
		for _, p := range props {
			_ = p.Writable()
		}
	})
}

// FuzzSearchAnswer decodes search and list pages. The transport answers every page the same, so
// a page naming a next cursor repeats forever: the test reads a few contacts only.
func FuzzSearchAnswer(f *testing.F) {
	f.Add(uint8(0), []byte(`{"total":2,"results":[{"id":"1","properties":{"email":"a@x.example","lastmodifieddate":"2026-01-01T00:00:00Z"},"updatedAt":"2026-01-01T00:00:00.000Z"}],"paging":{"next":{"after":"1"}}}`))
	f.Add(uint8(0), []byte(`{"total":0,"results":[]}`))
	f.Add(uint8(0), []byte(`{"results":[{"id":"1","properties":{"lastmodifieddate":"1430438400000"}}],"paging":{"next":{"after":""}}}`))
	f.Add(uint8(10), []byte(`{"status":"error","message":"You have reached your secondly limit.","errorType":"RATE_LIMIT","policyName":"SECONDLY"}`))
	f.Fuzz(func(t *testing.T, status uint8, body []byte) {
		ctx := answerCtx(t)
		c := fuzzClient(t, answering(status, body))
		n := 0
		for _, err := range c.SearchModifiedSince(ctx, time.Unix(1700000000, 0), []string{"email"}) {
			noHang(t, ctx, "SearchModifiedSince", err)
			if n++; n >= 5 || err != nil {
				break
			}
		}
		_, _, err := c.ListContactsPage(ctx, hubspot.ListOptions{Properties: []string{"email"}}, "")
		noHang(t, ctx, "ListContactsPage", err)
	})
}

// FuzzTimelineAnswer decodes timeline batch answers: one result per event, in order.
func FuzzTimelineAnswer(f *testing.F) {
	f.Add(uint8(0), []byte(`{"status":"COMPLETE","results":[{"id":"e1","objectId":"1","eventTemplateId":"t"}]}`))
	f.Add(uint8(3), []byte(`{"status":"COMPLETE","results":[],"numErrors":1,"errors":[{"status":"error","category":"CONFLICT","message":"exists","context":{"id":["e2"]}}]}`))
	f.Add(uint8(8), []byte(`{"status":"error","category":"CONFLICT"}`))
	f.Fuzz(func(t *testing.T, status uint8, body []byte) {
		ctx := answerCtx(t)
		evs := []hubspot.TimelineEvent{
			{ID: "e1", Type: "t", Email: "a@x.example", Timestamp: time.Unix(1700000000, 0)},
			{ID: "e2", Type: "t", ObjectID: "2", Timestamp: time.Unix(1700000000, 0), Properties: map[string]string{"k": "v"}},
		}
		res, err := fuzzClient(t, answering(status, body)).CreateTimelineEvents(ctx, evs)
		noHang(t, ctx, "CreateTimelineEvents", err)
		if err != nil {
			return
		}
		if len(res) != len(evs) {
			t.Fatalf("%d results for %d events", len(res), len(evs))
		}
		for i, r := range res {
			if r.ID != evs[i].ID {
				t.Fatalf("result %d is for %q, want %q", i, r.ID, evs[i].ID)
			}
		}
	})
}

// FuzzTokenAnswer decodes OAuth token and introspection answers: a token accepted has an access
// token, and an error never shows the refresh token or client secret that were sent.
func FuzzTokenAnswer(f *testing.F) {
	f.Add(uint8(0), []byte(`{"token_type":"bearer","refresh_token":"r","access_token":"a","expires_in":1800}`))
	f.Add(uint8(0), []byte(`{"token":"a","user":"u@x.example","hub_domain":"x.example","hub_id":42,"app_id":1,"expires_in":1700,"scopes":["oauth"],"token_type":"access"}`))
	f.Add(uint8(4), []byte(`{"status":"BAD_REFRESH_TOKEN","message":"missing or unknown refresh token"}`))
	f.Add(uint8(0), []byte(`{"access_token":"","expires_in":-5}`))
	f.Add(uint8(0), []byte(`{"access_token":"a","expires_in":99999999999999999999}`))
	f.Fuzz(func(t *testing.T, status uint8, body []byte) {
		ctx := answerCtx(t)
		const secret, refresh = "fuzz-client-secret", "fuzz-refresh-token"
		o, err := hubspot.NewOAuth(hubspot.App{ClientID: "id", ClientSecret: secret, RedirectURL: "https://lms.example/cb", Scopes: []string{"oauth"}},
			hubspot.WithBaseURL("https://api.hubapi.test"), hubspot.WithHTTPClient(&http.Client{Transport: answering(status, body)}),
			hubspot.WithRetry(0, 0), hubspot.WithRateLimit(1_000_000, time.Second))
		if err != nil {
			t.Fatal(err)
		}
		leak := func(what string, err error) {
			noHang(t, ctx, what, err)
			if err != nil && !bytes.Contains(body, []byte(secret)) && !bytes.Contains(body, []byte(refresh)) &&
				(strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), refresh)) {
				t.Fatalf("%s error shows a credential: %v", what, err)
			}
		}
		for _, call := range []struct {
			name string
			fn   func() (*hubspot.Token, error)
		}{
			{"Exchange", func() (*hubspot.Token, error) { return o.Exchange(ctx, "fuzz-code") }},
			{"Refresh", func() (*hubspot.Token, error) { return o.Refresh(ctx, refresh) }},
		} {
			tok, err := call.fn()
			leak(call.name, err)
			if err == nil && (tok == nil || tok.AccessToken == "") {
				t.Fatalf("%s accepted an answer without an access token: %+v", call.name, tok)
			}
		}
		_, err = o.Introspect(ctx, "fuzz-access-token", false)
		leak("Introspect", err)
		_, err = o.Introspect(ctx, refresh, true)
		leak("Introspect refresh", err)
	})
}
