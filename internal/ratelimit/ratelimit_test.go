package ratelimit

import (
	"math"
	"testing"
	"time"

	"github.com/hubsync/hubsync/clock"
)

func TestNewWindowNormalizesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		n       int
		per     time.Duration
		wantN   int
		wantPer time.Duration
	}{
		{"valid", 110, 10 * time.Second, 110, 10 * time.Second},
		{"zero n", 0, time.Second, 1, time.Second},
		{"negative n", -5, time.Minute, 1, time.Minute},
		{"zero per", 10, 0, 10, DefaultPer},
		{"negative per", 10, -time.Second, 10, DefaultPer},
		{"both bad", 0, 0, 1, DefaultPer},
		{"per beyond MaxPer", 10, 48 * time.Hour, 10, MaxPer},
		{"per of MaxInt64", 10, math.MaxInt64, 10, MaxPer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := NewWindow(clock.NewFake(time.Time{}), tt.n, tt.per)
			if n, per := w.Limit(); n != tt.wantN || per != tt.wantPer {
				t.Fatalf("NewWindow(%d, %v).Limit() = %d/%v, want %d/%v", tt.n, tt.per, n, per, tt.wantN, tt.wantPer)
			}
			w.SetLimit(tt.n, tt.per)
			if n, per := w.Limit(); n != tt.wantN || per != tt.wantPer {
				t.Fatalf("SetLimit(%d, %v): Limit() = %d/%v, want %d/%v", tt.n, tt.per, n, per, tt.wantN, tt.wantPer)
			}
		})
	}
}

// TestBadInputStillLimits: a Window built from nonsense input (or a window too long for the time
// arithmetic) still makes a second request wait a whole window instead of admitting everything.
func TestBadInputStillLimits(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		n       int
		per     time.Duration
		wantPer time.Duration
	}{{0, 0, DefaultPer}, {-1, -time.Hour, DefaultPer}, {1, math.MaxInt64, MaxPer}, {1, 9223372036854 * time.Millisecond, MaxPer}} {
		clk := clock.NewFake(time.Time{})
		w := NewWindow(clk, tt.n, tt.per)
		s, _, _, _ := w.try()
		if s == nil {
			t.Fatalf("%d per %v: the first request did not go", tt.n, tt.per)
		}
		s.Done(-1)
		s2, at, ok, _ := w.try()
		if s2 != nil || !ok {
			t.Fatalf("%d per %v: a second request went at once (%v) or got no time (%v)", tt.n, tt.per, s2 != nil, ok)
		}
		if got := at.Sub(clk.Now()); got < tt.wantPer {
			t.Errorf("%d per %v: the second request may go after %v, want at least %v", tt.n, tt.per, got, tt.wantPer)
		}
	}
}
