package hubsynctest

import (
	"time"

	"github.com/hubsync/hubsync/clock"
)

// Clock is a fake clock: its time moves only when the test calls Advance, Set or AdvanceToNext,
// and every timer that falls due fires then. Use BlockUntil to wait until the code under test is
// waiting on a timer, instead of sleeping. It is package clock's Fake under a name that reads well
// in a host's tests.
type Clock = clock.Fake

// NewClock returns a fake clock at start (a zero start means 2026-01-01T00:00:00Z).
func NewClock(start time.Time) *Clock { return clock.NewFake(start) }
