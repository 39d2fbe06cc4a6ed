package retryafter

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const limit = 24 * time.Hour
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"   ", 0},
		{"0", 0},
		{"7", 7 * time.Second},
		{" 7 ", 7 * time.Second},
		{"+7", 7 * time.Second},
		{"007", 7 * time.Second},
		{"1.5", 1500 * time.Millisecond},
		{".25", 250 * time.Millisecond},
		{"2.", 2 * time.Second},
		{"0.0000000019", 1}, // finer than a nanosecond: dropped
		{"86400", limit},
		{"86399.999999999", limit - 1},
		{"86400.5", limit},
		{"86401", limit},
		{"1000000000000", limit},       // 1e12 s: would overflow time.Duration
		{"9223372036854775807", limit}, // math.MaxInt64 seconds
		{"9223372036854775808", limit}, // beyond int64
		{"99999999999999999999999999999999999999999999", limit}, // beyond everything
		{"00000000000000000000000000000000000000000042", 42 * time.Second},
		{"-3", 0},
		{"-0", 0},
		{"-9223372036854775809", 0},
		{"-1.5", 0},
		{"soon", 0},
		{".", 0},
		{"-", 0},
		{"+", 0},
		{"1e3", 0},
		{"NaN", 0},
		{"Inf", 0},
		{"0x10", 0},
		{"1,5", 0},
		{"1 2", 0},
		{"Thu, 01 Jan 2026 00:01:00 GMT", time.Minute},    // IMF-fixdate
		{"Thursday, 01-Jan-26 00:01:00 GMT", time.Minute}, // RFC 850
		{"Thu Jan  1 00:01:00 2026", time.Minute},         // asctime
		{"Thu, 01 Jan 2026 00:00:00 GMT", 0},              // now
		{"Wed, 31 Dec 2025 23:59:00 GMT", 0},              // past
		{"Mon, 01 Jan 1900 00:00:00 GMT", 0},              // long past: Sub would saturate
		{"Sat, 03 Jan 2026 00:00:00 GMT", limit},          // two days: capped
		{"Fri, 31 Dec 9999 23:59:59 GMT", limit},          // Sub saturates, then capped
		{"Thu, 01 Jan 2026 00:01:00 CET", 0},              // not GMT: not an HTTP date
	}
	for _, tt := range tests {
		if got := Parse(tt.in, now, limit); got != tt.want {
			t.Errorf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	for _, limit := range []time.Duration{0, -time.Second, math.MinInt64} {
		if got := Parse("5", now, limit); got != 0 {
			t.Errorf("Parse(\"5\") with limit %v = %v, want 0", limit, got)
		}
	}
	if got := Parse("9223372036854775807", now, math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("Parse(MaxInt64 s) with no practical limit = %v, want the limit", got)
	}
	if got := Parse("2", now, 1500*time.Millisecond); got != 1500*time.Millisecond {
		t.Errorf("Parse(\"2\") with limit 1.5s = %v, want 1.5s", got)
	}
}

// check is the property every result holds: within [0, limit], and a plain non-negative integer
// n <= limit in seconds is exactly n seconds.
func check(t *testing.T, v string, now time.Time, limit time.Duration) {
	t.Helper()
	got := Parse(v, now, limit)
	if limit <= 0 {
		if got != 0 {
			t.Fatalf("Parse(%q, limit %v) = %v, want 0", v, limit, got)
		}
		return
	}
	if got < 0 || got > limit {
		t.Fatalf("Parse(%q, limit %v) = %v, outside [0, limit]", v, limit, got)
	}
	s := strings.TrimSpace(v)
	if s != "" && digits(s) {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n <= int64(limit/time.Second) && got != time.Duration(n)*time.Second {
			t.Fatalf("Parse(%q, limit %v) = %v, want exactly %d s", v, limit, got, n)
		}
	}
}

func FuzzParse(f *testing.F) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range []string{"", "7", "1.5", "-3", "86400", "9223372036854775807", "1e12", now.Add(time.Hour).Format(http.TimeFormat)} {
		f.Add(s, int64(24*time.Hour), now.Unix())
	}
	f.Fuzz(func(t *testing.T, v string, limit int64, unix int64) {
		check(t, v, time.Unix(unix, 0), time.Duration(limit))
	})
}
