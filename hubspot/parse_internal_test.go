package hubspot

import (
	"errors"
	"net/http"
	"strconv"
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
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{"86400", MaxRetryAfter},
		{"90000", MaxRetryAfter},               // a 477 asking for 25 hours
		{"1000000000000", MaxRetryAfter},       // 1e12 s overflowed time.Duration
		{"9223372036854775807", MaxRetryAfter}, // so did math.MaxInt64 seconds
		{"99999999999999999999999", MaxRetryAfter}, // beyond int64
		{"-99999999999999999999999", 0},
		{"Thu, 01 Jan 2026 00:01:00 GMT", time.Minute},
		{"Wed, 31 Dec 2025 23:59:00 GMT", 0},
		{"Fri, 31 Dec 9999 23:59:59 GMT", MaxRetryAfter},
	}
	for _, tt := range tests {
		h := http.Header{}
		h.Set("Retry-After", tt.in)
		if got := retryAfter(h, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzRetryAfter(f *testing.F) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range []string{"", "7", "-3", "86400", "86401", "9223372036854775807", "1e12", "1.5",
		"Thu, 01 Jan 2026 00:01:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{}
		h.Set("Retry-After", v)
		got := retryAfter(h, now)
		if got < 0 || got > MaxRetryAfter {
			t.Fatalf("retryAfter(%q) = %v, outside [0, %v]", v, got, MaxRetryAfter)
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil && n <= uint64(MaxRetryAfter/time.Second) && got != time.Duration(n)*time.Second {
			t.Fatalf("retryAfter(%q) = %v, want exactly %d s", v, got, n)
		}
	})
}

func TestRateHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		max, remaining, per string
		want                RateLimitStatus
		ok                  bool
	}{
		{"documented", "110", "109", "10000", RateLimitStatus{Max: 110, Remaining: 109, Interval: 10 * time.Second}, true},
		{"no remaining", "110", "", "10000", RateLimitStatus{Max: 110, Remaining: -1, Interval: 10 * time.Second}, true},
		{"negative remaining", "110", "-4", "10000", RateLimitStatus{Max: 110, Remaining: -1, Interval: 10 * time.Second}, true},
		{"spaces", " 110 ", " 3 ", " 1000 ", RateLimitStatus{Max: 110, Remaining: 3, Interval: time.Second}, true},
		{"a day", "110", "1", "86400000", RateLimitStatus{Max: 110, Remaining: 1, Interval: MaxRetryAfter}, true},
		{"beyond a day", "110", "1", "86400001", RateLimitStatus{Max: 110, Remaining: 1, Interval: MaxRetryAfter}, true},
		// 9223372036854 ms is a time.Duration just short of overflowing: adopted as is, it made the
		// limiter's spacing overflow; 1e13 ms and more wrapped around in the multiplication.
		{"292 years", "1", "0", "9223372036854", RateLimitStatus{Max: 1, Remaining: 0, Interval: MaxRetryAfter}, true},
		{"overflowing", "110", "1", "10000000000000000", RateLimitStatus{Max: 110, Remaining: 1, Interval: MaxRetryAfter}, true},
		{"beyond int64", "110", "1", "99999999999999999999999", RateLimitStatus{Max: 110, Remaining: 1, Interval: MaxRetryAfter}, true},
		{"no headers", "", "", "", RateLimitStatus{}, false},
		{"no interval", "110", "1", "", RateLimitStatus{}, false},
		{"zero interval", "110", "1", "0", RateLimitStatus{}, false},
		{"negative interval", "110", "1", "-10000", RateLimitStatus{}, false},
		{"hugely negative interval", "110", "1", "-99999999999999999999999", RateLimitStatus{}, false},
		{"fractional interval", "110", "1", "10000.5", RateLimitStatus{}, false},
		{"zero max", "0", "0", "10000", RateLimitStatus{}, false},
		{"negative max", "-1", "0", "10000", RateLimitStatus{}, false},
		{"max beyond int", "99999999999999999999999", "0", "10000", RateLimitStatus{}, false},
	}
	for _, tt := range tests {
		h := http.Header{}
		h.Set("X-HubSpot-RateLimit-Max", tt.max)
		h.Set("X-HubSpot-RateLimit-Remaining", tt.remaining)
		h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", tt.per)
		got, ok := rateHeaders(h)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: rateHeaders = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzRateLimitHeaders checks the X-HubSpot-RateLimit-* parser: it never panics, an interval it
// accepts is within (0, MaxRetryAfter], a plain positive number of milliseconds up to the cap is
// read exactly, and Max and Remaining are never below their documented floors.
func FuzzRateLimitHeaders(f *testing.F) {
	f.Add("110", "109", "10000")
	f.Add("1", "0", "9223372036854")
	f.Add("110", "", "99999999999999999999999")
	f.Add("0", "-1", "-5")
	f.Fuzz(func(t *testing.T, maxV, remainingV, perV string) {
		h := http.Header{}
		h.Set("X-HubSpot-RateLimit-Max", maxV)
		h.Set("X-HubSpot-RateLimit-Remaining", remainingV)
		h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", perV)
		s, ok := rateHeaders(h)
		if ok && (s.Max < 1 || s.Remaining < -1 || s.Interval <= 0 || s.Interval > MaxRetryAfter) {
			t.Fatalf("rateHeaders(%q, %q, %q) = %+v", maxV, remainingV, perV, s)
		}
		per, ok := headerInterval(perV)
		if ok && (per <= 0 || per > MaxRetryAfter) {
			t.Fatalf("headerInterval(%q) = %v, outside (0, %v]", perV, per, MaxRetryAfter)
		}
		if !ok && per != 0 {
			t.Fatalf("headerInterval(%q) = %v with ok false", perV, per)
		}
		v := strings.TrimSpace(h.Get("X-HubSpot-RateLimit-Interval-Milliseconds"))
		if n, err := strconv.ParseUint(v, 10, 64); err == nil && n > 0 && n <= uint64(MaxRetryAfter/time.Millisecond) {
			if got, ok := headerInterval(v); !ok || got != time.Duration(n)*time.Millisecond {
				t.Fatalf("headerInterval(%q) = %v, %v; want exactly %d ms", v, got, ok, n)
			}
		}
	})
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
