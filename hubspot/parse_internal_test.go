package hubspot

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNewAPIError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want APIError
	}{
		{"validation", `{"status":"error","message":"Property values were not valid","correlationId":"c-1","category":"VALIDATION_ERROR","subCategory":"x","errors":[{"message":"discount was not a valid number","code":"INVALID_INTEGER","context":{"propertyName":["discount"]}}]}`,
			APIError{StatusCode: 400, Category: "VALIDATION_ERROR", SubCategory: "x", Message: "Property values were not valid", CorrelationID: "c-1"}},
		{"rate limit", `{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","correlationId":"c-2","policyName":"DAILY"}`,
			APIError{StatusCode: 400, Category: "RATE_LIMIT", Message: "You have reached your daily limit.", CorrelationID: "c-2"}},
		{"oauth", `{"error":"invalid_grant","error_description":"refresh token is invalid"}`,
			APIError{StatusCode: 400, Category: "invalid_grant", Message: "refresh token is invalid"}},
		{"standard error subCategory object", `{"message":"m","category":"C","subCategory":{"a":1}}`,
			APIError{StatusCode: 400, Category: "C", Message: "m"}},
		{"not json", `<html>502</html>`, APIError{StatusCode: 400}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _ := newAPIError(400, []byte(tt.body))
			if got.StatusCode != tt.want.StatusCode || got.Category != tt.want.Category || got.SubCategory != tt.want.SubCategory ||
				got.Message != tt.want.Message || got.CorrelationID != tt.want.CorrelationID {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAPIErrorMasksEmails(t *testing.T) {
	t.Parallel()
	e := &APIError{StatusCode: 409, Category: "CONFLICT", Message: "Contact jane.doe@example.com already exists", Errors: []ErrorDetail{{Code: "X", Message: "bob@example.org is taken"}}}
	s := e.Error()
	if strings.Contains(s, "jane.doe@") || strings.Contains(s, "bob@") || !strings.Contains(s, "j***@example.com") || !strings.Contains(s, "b***@example.org") {
		t.Fatalf("Error() = %q", s)
	}
	if !errors.Is(&APIError{StatusCode: 404}, ErrNotFound) || errors.Is(e, ErrNotFound) {
		t.Fatal("ErrNotFound matching is wrong")
	}
	for in, want := range map[string]string{"jane@example.com": "j***@example.com", "x": "***", "": "", "@x.com": "***"} {
		if got := MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseHubSpotTime(t *testing.T) {
	t.Parallel()
	want := time.Date(2015, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, in := range []string{"1430438400000", "2015-05-01", "2015-05-01T00:00:00Z", "2015-05-01T00:00:00.000Z", "2015-05-01T02:00:00+02:00"} {
		got, ok := parseHubSpotTime(in)
		if !ok || !got.Equal(want) {
			t.Errorf("parseHubSpotTime(%q) = %v, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "yesterday", "2015-13-01"} {
		if _, ok := parseHubSpotTime(in); ok {
			t.Errorf("parseHubSpotTime(%q) accepted", in)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{"": 0, "7": 7 * time.Second, "-3": 0, "soon": 0, "Thu, 01 Jan 2026 00:01:00 GMT": time.Minute} {
		h := http.Header{}
		h.Set("Retry-After", in)
		if got := retryAfter(h, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func FuzzNewAPIError(f *testing.F) {
	f.Add(429, []byte(`{"status":"error","message":"You have reached your secondly limit.","errorType":"RATE_LIMIT","policyName":"SECONDLY"}`))
	f.Add(400, []byte(`{"errors":[{"message":"m","context":{"a":["b"]}}],"subCategory":{"x":1}}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e, eb := newAPIError(status, body)
		if e == nil || eb == nil || e.StatusCode != status {
			t.Fatal("newAPIError lost the status")
		}
		_ = e.Error()
	})
}

func FuzzParseHubSpotTime(f *testing.F) {
	f.Add("1430438400000")
	f.Add("2015-05-01T00:00:00.000Z")
	f.Fuzz(func(t *testing.T, s string) {
		if got, ok := parseHubSpotTime(s); ok && got.Location() != time.UTC {
			t.Fatalf("parseHubSpotTime(%q) not in UTC", s)
		}
	})
}

func FuzzMaskEmails(f *testing.F) {
	f.Add("contact jane@example.com exists")
	f.Fuzz(func(t *testing.T, s string) {
		out := MaskEmails(s)
		for _, m := range emailPattern.FindAllString(out, -1) {
			if !strings.Contains(m, "***@") {
				t.Fatalf("MaskEmails(%q) left %q", s, m)
			}
		}
	})
}
