package learnworlds_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/learnworlds"
)

// exactServer answers the token endpoint, then every other request with status and body, checking
// the headers every call must carry.
func exactServer(t *testing.T, status int, body string) *learnworlds.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Lw-Client") != "cid" {
			t.Errorf("%s %s without Lw-Client", r.Method, r.URL.Path)
		}
		if r.URL.Path == "/admin/api/oauth2/access_token" {
			if err := r.ParseForm(); err != nil || !strings.Contains(r.PostForm.Get("data"), `"grant_type":"client_credentials"`) {
				t.Errorf("token request form = %v (%v)", r.PostForm, err)
			}
			io.WriteString(w, `{"tokenData":{"access_token":"tok","token_type":"Bearer","expires_in":8000},"errors":[],"success":true}`)
			return
		}
		if r.Header.Get("Authorization") != "Bearer tok" {
			t.Errorf("%s %s: Authorization = %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	c, err := learnworlds.New(learnworlds.Config{BaseURL: srv.URL, ClientID: "cid", ClientSecret: "secret", MaxRetries: -1, RateLimit: fastLimit, RatePer: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestErrorShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		body    string
		is      []error
		message string
		fields  map[string]string
	}{
		{"oauth style string code", 400, `{"errors":[{"code":"400","context":"access_denied","message":"The resource owner or authorization server denied the request."}],"success":false}`,
			[]error{learnworlds.ErrUnauthorized}, "denied the request", nil},
		{"oauth style numeric code", 401, `{"errors":[{"code":401,"context":null,"message":"Invalid object ID"}],"success":false}`,
			[]error{learnworlds.ErrUnauthorized}, "Invalid object ID", nil},
		{"simple", 404, `{"error":"Sorry the resource your trying to access does not exist."}`,
			[]error{hubsync.ErrNotFound}, "does not exist", nil},
		{"status code style", 404, `{"statusCode":404,"error":"This resource is not found"}`,
			[]error{hubsync.ErrNotFound}, "not found", nil},
		{"validation", 422, `{"statusCode":422,"error":"Validation Failed","message":"Your input had some validation errors.","errors":{"company":[{"0":"The 'Company' field is required."}]}}`,
			[]error{learnworlds.ErrValidation}, "Validation Failed", map[string]string{"company": "The 'Company' field is required."}},
		{"duplicate email", 422, `{"statusCode":422,"error":"Validation Failed","errors":{"email":["The email has already been taken."]}}`,
			[]error{learnworlds.ErrValidation, hubsync.ErrConflict}, "Validation Failed", map[string]string{"email": "The email has already been taken."}},
		{"too many", 429, `{"error":"Too many requests"}`, []error{learnworlds.ErrRateLimited, hubsync.ErrUnavailable}, "Too many requests", nil},
		{"server", 500, `{"error":"Server Error"}`, []error{hubsync.ErrUnavailable}, "Server Error", nil},
		{"not json", 502, `<html>bad gateway</html>`, []error{hubsync.ErrUnavailable}, "bad gateway", nil},
		{"200 success false", 200, `{"success":false,"errors":[{"code":"400","context":null,"message":"Something failed"}]}`, nil, "Something failed", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := exactServer(t, tt.status, tt.body)
			_, err := c.GetUser(t.Context(), "jane.doe@example.com")
			var apiErr *learnworlds.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if apiErr.StatusCode != tt.status || !strings.Contains(apiErr.Message, tt.message) {
				t.Fatalf("APIError = %+v, want status %d and message containing %q", apiErr, tt.status, tt.message)
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false", err, target)
				}
			}
			for k, want := range tt.fields {
				if got := apiErr.Fields[k]; len(got) != 1 || got[0] != want {
					t.Errorf("Fields[%q] = %q, want [%q]", k, got, want)
				}
			}
			if strings.Contains(err.Error(), "jane.doe") || strings.Contains(err.Error(), "tok") {
				t.Errorf("error leaks the email or the token: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "learnworlds: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

// TestAPIErrorIsUnavailable: 429 and every 5xx match hubsync.ErrUnavailable, nothing else does.
func TestAPIErrorIsUnavailable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		fields map[string][]string
		want   bool
	}{
		{200, nil, false}, // success:false
		{400, nil, false},
		{400, map[string][]string{"email": {"is invalid"}}, false},
		{401, nil, false},
		{403, nil, false},
		{404, nil, false},
		{409, nil, false},
		{422, map[string][]string{"email": {"The email has already been taken."}}, false},
		{429, nil, true},
		{500, nil, true},
		{501, nil, true},
		{502, nil, true},
		{503, nil, true},
		{504, nil, true},
		{599, nil, true},
		{600, nil, false},
	}
	for _, tt := range tests {
		e := &learnworlds.APIError{StatusCode: tt.status, Fields: tt.fields}
		if got := errors.Is(e, hubsync.ErrUnavailable); got != tt.want {
			t.Errorf("errors.Is(status %d, hubsync.ErrUnavailable) = %v, want %v", tt.status, got, tt.want)
		}
		if got := e.Temporary(); got != tt.want {
			t.Errorf("status %d: Temporary() = %v, want %v", tt.status, got, tt.want)
		}
	}
}

func TestSuccessWithoutSuccessFieldIsNotAnError(t *testing.T) {
	t.Parallel()
	c := exactServer(t, 200, `{"id":"u1","email":"a@example.com","username":"a","fields":{"bio":null,"cf_x":true,"cf_n":3},"tags":null,"utms":null,"billing_info":null,"nps_score":null,"created":1587639230.083278,"last_login":null}`)
	u, err := c.GetUser(t.Context(), "u1")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "u1" || u.Fields["bio"] != nil || u.Fields["cf_x"] != true || u.Fields["cf_n"] != 3.0 || u.LastLogin != 0 || u.Created != 1587639230.083278 {
		t.Fatalf("user = %+v", u)
	}
}

func TestTokenEndpointSuccessFalse(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"tokenData":null,"errors":[{"code":"401","context":"invalid_client","message":"Client authentication failed"}],"success":false}`)
	}))
	t.Cleanup(srv.Close)
	c, err := learnworlds.New(learnworlds.Config{BaseURL: srv.URL, ClientID: "cid", ClientSecret: "s3cret", RateLimit: fastLimit, RatePer: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetUser(t.Context(), "u1")
	var apiErr *learnworlds.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 200 || !strings.Contains(err.Error(), "Client authentication failed") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("err = %v, want the 200 success:false as *APIError without the secret", err)
	}
}
