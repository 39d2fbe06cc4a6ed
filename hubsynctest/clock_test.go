package hubsynctest_test

import (
	"context"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/hubsynctest"
)

func TestClockIsAHubsyncClock(t *testing.T) {
	t.Parallel()
	var c hubsync.Clock = hubsynctest.NewClock(time.Time{})
	fc := c.(*hubsynctest.Clock)
	done := make(chan error, 1)
	go func() { done <- clock.Sleep(context.Background(), c, 10*time.Second) }()
	if err := fc.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	fc.Advance(10 * time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
