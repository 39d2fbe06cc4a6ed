package learnworlds

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// retryAfterOf is the RetryAfter parseError reads from a 429 carrying Retry-After v.
func retryAfterOf(v string, now time.Time) time.Duration {
	resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{}}
	resp.Header.Set("Retry-After", v)
	return parseError(resp, []byte(`{"error":"Too many requests"}`), http.MethodGet, "/v2/users", now).RetryAfter
}

func TestRetryAfterHeader(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{"1.5", 1500 * time.Millisecond}, // the client always read fractional seconds
		{"0", 0},
		{"-3", 0},
		{"-1.5", 0},
		{"soon", 0},
		{"NaN", 0}, // ParseFloat took it, and NaN >= 0 was false
		{"Inf", 0}, // ParseFloat took it as +Inf, which overflowed
		{"1e3", 0}, // not delay-seconds
		{"3600", MaxRetryAfter},
		{"3601", MaxRetryAfter},
		{"86400", MaxRetryAfter},
		{"1000000000000", MaxRetryAfter},       // 1e12 s overflowed time.Duration
		{"9223372036854775807", MaxRetryAfter}, // so did math.MaxInt64 seconds
		{"99999999999999999999999", MaxRetryAfter},
		{"Thu, 01 Jan 2026 00:01:00 GMT", time.Minute},
		{"Thu, 01 Jan 2026 02:00:00 GMT", MaxRetryAfter},
		{"Wed, 31 Dec 2025 23:59:00 GMT", 0},
		{"Fri, 31 Dec 9999 23:59:59 GMT", MaxRetryAfter},
	}
	for _, tt := range tests {
		if got := retryAfterOf(tt.in, now); got != tt.want {
			t.Errorf("Retry-After %q: RetryAfter = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzRetryAfter(f *testing.F) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range []string{"", "7", "1.5", "-3", "3600", "3601", "9223372036854775807", "1e12", "Inf",
		"Thu, 01 Jan 2026 00:01:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := retryAfterOf(v, now)
		if got < 0 || got > MaxRetryAfter {
			t.Fatalf("Retry-After %q: RetryAfter = %v, outside [0, %v]", v, got, MaxRetryAfter)
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil && n <= uint64(MaxRetryAfter/time.Second) && got != time.Duration(n)*time.Second {
			t.Fatalf("Retry-After %q: RetryAfter = %v, want exactly %d s", v, got, n)
		}
	})
}
