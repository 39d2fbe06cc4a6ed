package logthrottle_test

import (
	"testing"
	"time"

	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/internal/logthrottle"
)

func TestThrottle(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	th := logthrottle.New(clk, 10*time.Second)
	if ok, n := th.Allow(); !ok || n != 0 {
		t.Fatalf("first Allow = %v, %d", ok, n)
	}
	for range 5 {
		if ok, _ := th.Allow(); ok {
			t.Fatal("a second line within the interval was let through")
		}
	}
	clk.Advance(9 * time.Second)
	if ok, _ := th.Allow(); ok {
		t.Fatal("let through before the interval passed")
	}
	clk.Advance(time.Second)
	if ok, n := th.Allow(); !ok || n != 6 {
		t.Fatalf("after the interval Allow = %v, %d; want true, 6 left out", ok, n)
	}
}
