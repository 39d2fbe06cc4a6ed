package apispec

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// exchange builds a request and, when status is not 0, a JSON (or given content type) response.
func exchange(method, target, contentType, reqBody string, status int, respBody string) (*http.Request, *http.Response) {
	var body io.Reader
	if reqBody != "" {
		body = strings.NewReader(reqBody)
	}
	req := httptest.NewRequest(method, "http://127.0.0.1:4321"+target, body)
	if reqBody != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if status == 0 {
		return req, nil
	}
	resp := &http.Response{
		StatusCode: status,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(respBody)),
		Request:    req,
	}
	return req, resp
}

func TestLoadInline(t *testing.T) {
	t.Parallel()
	s := loadInline(t)
	if got, want := s.Documents(), []string{"a.json", "b.yaml", "strict/c.yml"}; !slices.Equal(got, want) {
		t.Errorf("Documents() = %v, want %v", got, want)
	}
	// Server base paths of all documents, longest first; docC's server has none.
	if got, want := s.Prefixes(), []string{"/admin/api", "/api"}; !slices.Equal(got, want) {
		t.Errorf("Prefixes() = %v, want %v", got, want)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	s := loadInline(t)
	s.Allow("POST", "/admin/api/oauth2/access_token", "LearnWorlds token endpoint is in no document")
	s.Allow("", "/_fake/*", "the fake's admin routes")
	s.StripPrefix("/custom/")

	const json = "application/json"
	const form = "application/x-www-form-urlencoded"
	goodUpsert := `{"inputs":[{"id":"a@example.com","idProperty":"email","properties":{"firstname":"A"}}]}`
	goodUpsertResp := `{"status":"COMPLETE","results":[{"id":"1","name":null}]}`
	tests := []struct {
		name                  string
		method, target, ctype string
		reqBody               string
		status                int
		respBody              string
		wantErr               bool
		undescribed           bool
		contains, notContains []string
	}{
		{name: "good upsert", method: "POST", target: "/things/batch/upsert", ctype: json, reqBody: goodUpsert, status: 200, respBody: goodUpsertResp},
		{name: "good upsert request only", method: "POST", target: "/things/batch/upsert", ctype: json, reqBody: goodUpsert},
		{name: "upsert under the document's own server base path", method: "POST", target: "/api/things/batch/upsert", ctype: json, reqBody: goodUpsert, status: 200, respBody: goodUpsertResp},
		{name: "upsert under a prefix added with StripPrefix", method: "POST", target: "/custom/things/batch/upsert", ctype: json, reqBody: goodUpsert, status: 200, respBody: goodUpsertResp},
		{name: "upsert id of wrong type", method: "POST", target: "/things/batch/upsert", ctype: json,
			reqBody: `{"inputs":[{"id":7,"properties":{}}]}`, status: 200, respBody: goodUpsertResp, wantErr: true,
			contains: []string{"POST /things/batch/upsert", "a.json", "OpenAPI 3.0.3", "request", "id"}},
		{name: "upsert missing required inputs", method: "POST", target: "/things/batch/upsert", ctype: json,
			reqBody: `{}`, wantErr: true, contains: []string{"a.json", "inputs"}},
		{name: "upsert body not JSON", method: "POST", target: "/things/batch/upsert", ctype: json,
			reqBody: `{"inputs":`, wantErr: true, contains: []string{"a.json", "request"}},
		{name: "upsert response enum violated", method: "POST", target: "/things/batch/upsert", ctype: json,
			reqBody: goodUpsert, status: 200, respBody: `{"status":"DONE","results":[]}`, wantErr: true,
			contains: []string{"response", "status"}},
		{name: "error response matches default", method: "POST", target: "/things/batch/upsert", ctype: json,
			reqBody: goodUpsert, status: 429, respBody: `{"message":"slow down","category":"RATE_LIMITS"}`},
		{name: "error response against default with wrong shape", method: "POST", target: "/things/batch/upsert", ctype: json,
			reqBody: goodUpsert, status: 500, respBody: `{"message":5}`, wantErr: true, contains: []string{"response", "category"}},
		{name: "path parameter of wrong type", method: "GET", target: "/things/abc", status: 200, respBody: `{"id":"1"}`,
			wantErr: true, contains: []string{"GET /things/{thingId}", "thingId"}},
		{name: "query parameter of wrong type", method: "GET", target: "/things/12?limit=lots", status: 200, respBody: `{"id":"1"}`,
			wantErr: true, contains: []string{"limit"}},
		{name: "query parameter over maximum", method: "GET", target: "/things/12?limit=500", wantErr: true, contains: []string{"limit"}},
		{name: "good get with query", method: "GET", target: "/things/12?limit=5", status: 200, respBody: `{"id":"12","name":"x"}`},
		{name: "response field of wrong type", method: "GET", target: "/things/12", status: 200, respBody: `{"id":12}`,
			wantErr: true, contains: []string{"response", "id"}},
		{name: "method the document does not declare for the path", method: "GET", target: "/token", status: 200, wantErr: true, undescribed: true},
		{name: "undeclared 2xx status", method: "POST", target: "/token", ctype: form, reqBody: "grant_type=refresh_token&client_id=c",
			status: 201, respBody: `{}`, wantErr: true, contains: []string{"status 201 is not declared", "200"}},
		{name: "undeclared error status is not checked", method: "POST", target: "/token", ctype: form, reqBody: "grant_type=refresh_token&client_id=c",
			status: 503, respBody: `<html>down</html>`},
		{name: "form body good", method: "POST", target: "/token", ctype: form, reqBody: "grant_type=authorization_code&client_id=c",
			status: 200, respBody: `{"access_token":"t","expires_in":1800}`},
		{name: "secrets quoted by a message are masked", method: "GET", target: "/things/12?limit=Zm9vYmFyYmF6cXV1eA", wantErr: true,
			contains: []string{"Zm9v***"}, notContains: []string{"Zm9vYmFyYmF6cXV1eA"}},
		{name: "form body bad enum", method: "POST", target: "/token", ctype: form, reqBody: "grant_type=password&client_id=c",
			wantErr: true, contains: []string{"grant_type"}},
		{name: "unknown path", method: "GET", target: "/nothing/here", wantErr: true, undescribed: true,
			contains: []string{"GET /nothing/here", "no document describes", "a.json", "b.yaml", "strict/c.yml"}},
		{name: "unknown method on a known path", method: "DELETE", target: "/things/12", wantErr: true, undescribed: true},
		{name: "prefix must end at a segment boundary", method: "GET", target: "/admin/apiv2/users/7", wantErr: true, undescribed: true},
		{name: "3.1 good, prefix from another document's server", method: "GET", target: "/admin/api/v2/users/7", status: 200,
			respBody: `{"email":"a@example.com","nickname":null,"extra":true}`},
		{name: "3.1 good without prefix", method: "GET", target: "/v2/users/7", status: 200, respBody: `{"email":"a@example.com","nickname":"al","extra":false}`},
		{name: "overlap: accepted by one document is enough", method: "GET", target: "/admin/api/v2/users/7", status: 200,
			respBody: `{"email":"a@example.com"}`},
		{name: "overlap: rejected by both lists both", method: "GET", target: "/admin/api/v2/users/7", status: 200,
			respBody: `{"email":"a@example.com","nickname":5}`, wantErr: true,
			contains:    []string{"rejected by all 2 documents", "b.yaml (OpenAPI 3.1.0", "strict/c.yml (OpenAPI 3.1.0", "nickname", "extra"},
			notContains: []string{"a@example.com"}},
		{name: "3.1 request body bad item type", method: "PUT", target: "/admin/api/v2/users/7", ctype: json,
			reqBody: `{"tags":["vip",1]}`, status: 200, respBody: `{"email":"a@example.com"}`, wantErr: true,
			contains: []string{"PUT /v2/users/{id}", "b.yaml", "tags"}},
		{name: "allowed undescribed operation", method: "POST", target: "/admin/api/oauth2/access_token", ctype: form,
			reqBody: "grant_type=client_credentials", status: 200, respBody: `{"access_token":"x"}`},
		{name: "allow rule checks the method", method: "GET", target: "/admin/api/oauth2/access_token", wantErr: true, undescribed: true},
		{name: "allow rule with trailing star", method: "PUT", target: "/_fake/faults/429", status: 204},
		{name: "e-mail in an undescribed path is masked", method: "GET", target: "/nothing/jane.doe@example.com", wantErr: true, undescribed: true,
			contains: []string{"/nothing/j***@example.com"}, notContains: []string{"jane.doe"}},
		{name: "long opaque segment in an undescribed path is masked", method: "GET", target: "/nothing/CJSP5qf1KhICAQEYs-gDIIGOBii1hQIyGQAf3xBKmlwHjX7OIpuIFEavB2-qYAGQsF4",
			wantErr: true, undescribed: true, notContains: []string{"CJSP5qf1KhICAQEYs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, resp := exchange(tt.method, tt.target, tt.ctype, tt.reqBody, tt.status, tt.respBody)
			err := s.Check(req, resp)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Check() error = %v, want error: %v", err, tt.wantErr)
			}
			if err == nil {
				return
			}
			t.Logf("message:\n%v", err)
			var mm *MismatchError
			if !errors.As(err, &mm) {
				t.Fatalf("error %T is not a *MismatchError", err)
			}
			if got := errors.Is(err, ErrUndescribed); got != tt.undescribed {
				t.Errorf("errors.Is(err, ErrUndescribed) = %v, want %v", got, tt.undescribed)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "apispec: "+tt.method+" ") {
				t.Errorf("message does not start with the package and method: %q", msg)
			}
			for _, want := range tt.contains {
				if !strings.Contains(msg, want) {
					t.Errorf("message lacks %q:\n%s", want, msg)
				}
			}
			for _, bad := range tt.notContains {
				if strings.Contains(msg, bad) {
					t.Errorf("message contains %q:\n%s", bad, msg)
				}
			}
		})
	}
}

func TestCheckKeepsBodiesReadable(t *testing.T) {
	t.Parallel()
	s := loadInline(t)
	body := `{"inputs":[{"id":"1","properties":{}}]}`
	req, resp := exchange("POST", "/things/batch/upsert", "application/json", body, 200, `{"status":"COMPLETE","results":[]}`)
	if err := s.Check(req, resp); err != nil {
		t.Fatal(err)
	}
	gotReq, _ := io.ReadAll(req.Body)
	gotResp, _ := io.ReadAll(resp.Body)
	if string(gotReq) != body || string(gotResp) != `{"status":"COMPLETE","results":[]}` {
		t.Errorf("bodies after Check: request %q, response %q", gotReq, gotResp)
	}
}

func TestNilSpecs(t *testing.T) {
	t.Parallel()
	var s *Specs
	req, resp := exchange("GET", "/anything", "", "", 200, `{}`)
	if err := s.Check(req, resp); err != nil {
		t.Errorf("nil Specs Check = %v, want nil", err)
	}
	base := &http.Transport{}
	if got := s.Transport(t, base); got != base {
		t.Errorf("nil Specs Transport did not return base unchanged")
	}
	s.Allow("GET", "/x", "no-op")
	s.StripPrefix("/x")
	if s.Documents() != nil || s.Prefixes() != nil || s.Allowed() != nil {
		t.Errorf("nil Specs lists something")
	}
}
