package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
)

// Config tells a [Factory] how to wire the implementation under test.
type Config struct {
	// Clock is the only time source the store and queue may read. The suite advances it to expire
	// leases and reach run-at times.
	Clock *clock.Fake
	// MaxAttempts is the queue's maximum attempts: the Retry that brings a job's attempt count to
	// it dead-letters the job.
	MaxAttempts int
	// Sealer is what the store must seal connection tokens with (its WithSealer option, or the
	// like). Run leaves it nil; RunSealing sets it.
	Sealer hubsync.Sealer
}

// Factory returns a fresh, empty store and queue wired to cfg. It registers its own cleanup with
// t.Cleanup and fails t when it cannot build them. The queue and store are usually the same value.
type Factory func(t testing.TB, cfg Config) (hubsync.Store, hubsync.Queue)

// suiteMaxAttempts is the MaxAttempts the suite asks for: small, so dead-lettering is quick to reach.
const suiteMaxAttempts = 3

// epoch is where every subtest's fake clock starts: a whole second, so every backend keeps it exactly.
var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fixture is one subtest's store, queue and clock.
type fixture struct {
	s   hubsync.Store
	q   hubsync.Queue
	clk *clock.Fake
	ctx context.Context
}

func newFixture(t *testing.T, f Factory) fixture {
	t.Helper()
	clk := clock.NewFake(epoch)
	s, q := f(t, Config{Clock: clk, MaxAttempts: suiteMaxAttempts})
	if s == nil || q == nil {
		t.Fatal("storetest: the factory returned a nil Store or Queue")
	}
	return fixture{s: s, q: q, clk: clk, ctx: t.Context()}
}

// Run runs the whole conformance suite against the implementation f builds. Each behaviour is a
// parallel subtest with its own fresh store; see the package doc for what is checked.
func Run(t *testing.T, f Factory) {
	t.Helper()
	groups := []struct {
		name  string
		cases []testCase
	}{
		{"Store", storeCases},
		{"Queue", queueCases},
		{"Concurrency", concurrencyCases},
		{"Tx", txCases},
		{"Health", healthCases},
		{"LMSConnections", lmsCases},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.fn(t, newFixture(t, f))
				})
			}
		})
	}
}

// testCase is one named behaviour of the suite.
type testCase struct {
	name string
	fn   func(t *testing.T, x fixture)
}
