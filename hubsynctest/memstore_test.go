package hubsynctest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/hubsynctest"
	"github.com/hubsync/hubsync/store/storetest"
)

func TestMemStoreConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t testing.TB, cfg storetest.Config) (hubsync.Store, hubsync.Queue) {
		m := hubsynctest.NewMemStore(hubsynctest.WithMemClock(cfg.Clock), hubsynctest.WithMemMaxAttempts(cfg.MaxAttempts))
		return m, m
	})
	storetest.RunSealing(t, func(t testing.TB, cfg storetest.Config) (hubsync.Store, hubsync.Queue) {
		m := hubsynctest.NewMemStore(hubsynctest.WithMemClock(cfg.Clock), hubsynctest.WithMemMaxAttempts(cfg.MaxAttempts),
			hubsynctest.WithMemSealer(cfg.Sealer))
		return m, m
	}, func(t testing.TB, s hubsync.Store) string {
		return hubsynctest.RawConnections(s.(*hubsynctest.MemStore))
	})
}

func BenchmarkMemQueueThroughput(b *testing.B) {
	storetest.Benchmark(b, func(t testing.TB, cfg storetest.Config) (hubsync.Store, hubsync.Queue) {
		m := hubsynctest.NewMemStore(hubsynctest.WithMemClock(cfg.Clock), hubsynctest.WithMemMaxAttempts(cfg.MaxAttempts))
		return m, m
	})
}

func BenchmarkMemQueueWorkers(b *testing.B) {
	storetest.BenchmarkWorkers(b, func(t testing.TB, cfg storetest.Config) (hubsync.Store, hubsync.Queue) {
		m := hubsynctest.NewMemStore(hubsynctest.WithMemClock(cfg.Clock), hubsynctest.WithMemMaxAttempts(cfg.MaxAttempts))
		return m, m
	}, 4, 100)
}

func TestMemStoreHonoursContext(t *testing.T) {
	t.Parallel()
	m := hubsynctest.NewMemStore()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for name, err := range map[string]error{
		"PutSettings": m.PutSettings(ctx, "a", hubsync.Settings{}),
		"Enqueue":     m.Enqueue(ctx, hubsync.JobSpec{School: "a", Kind: "push"}),
		"RunInTx":     m.RunInTx(ctx, func(context.Context, hubsync.Store, hubsync.Queue) error { return nil }),
	} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: err = %v, want context.Canceled", name, err)
		}
	}
	if _, err := m.Dequeue(ctx, hubsync.DequeueOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Dequeue with a cancelled context: err = %v, want context.Canceled", err)
	}
}

func TestMemStoreNestedTxJoins(t *testing.T) {
	t.Parallel()
	m := hubsynctest.NewMemStore()
	ctx := t.Context()
	boom := errors.New("boom")
	err := m.RunInTx(ctx, func(ctx context.Context, s hubsync.Store, q hubsync.Queue) error {
		if err := s.PutSettings(ctx, "a", hubsync.Settings{}); err != nil {
			return err
		}
		inner := s.(hubsync.Transactor).RunInTx(ctx, func(ctx context.Context, s hubsync.Store, q hubsync.Queue) error {
			return q.Enqueue(ctx, hubsync.JobSpec{School: "a", Kind: "push"})
		})
		if inner != nil {
			return inner
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("RunInTx = %v, want boom", err)
	}
	if _, err := m.GetSettings(ctx, "a"); !errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("settings written in the rolled-back transaction: err = %v, want ErrNotFound", err)
	}
	if st, _ := m.Stats(ctx, "a"); st != (hubsync.QueueStats{}) {
		t.Fatalf("Stats after rolling back a nested enqueue = %+v, want empty", st)
	}
}

// ExampleNewMemStore shows the in-memory store as a queue on a fake clock.
func ExampleNewMemStore() {
	ctx := context.Background()
	clk := clock.NewFake(time.Time{})
	m := hubsynctest.NewMemStore(hubsynctest.WithMemClock(clk), hubsynctest.WithMemMaxAttempts(3))
	for _, v := range []string{"v1", "v2", "v3"} { // three changes of one learner coalesce
		_ = m.Enqueue(ctx, hubsync.JobSpec{School: "school-1", Kind: "push", Key: "jane@example.com", Payload: []byte(v)})
	}
	jobs, _ := m.Dequeue(ctx, hubsync.DequeueOptions{Worker: "w1", Max: 10, Lease: time.Minute})
	fmt.Println(len(jobs), string(jobs[0].Payload))
	_ = m.Ack(ctx, jobs[0])
	st, _ := m.Stats(ctx, "school-1")
	fmt.Printf("%+v\n", st)
	// Output:
	// 1 v3
	// {Ready:0 Scheduled:0 Leased:0 Dead:0}
}

func TestMemStorePanicInTxRollsBack(t *testing.T) {
	t.Parallel()
	m := hubsynctest.NewMemStore()
	ctx := t.Context()
	func() {
		defer func() { _ = recover() }()
		_ = m.RunInTx(ctx, func(ctx context.Context, s hubsync.Store, q hubsync.Queue) error {
			_ = q.Enqueue(ctx, hubsync.JobSpec{School: "a", Kind: "push"})
			panic("fn fails hard")
		})
	}()
	if st, err := m.Stats(ctx, "a"); err != nil || st != (hubsync.QueueStats{}) {
		t.Fatalf("Stats after a panicking transaction = %+v, %v; want it rolled back", st, err)
	}
	if err := m.PutSettings(ctx, "a", hubsync.Settings{}); err != nil {
		t.Fatalf("the store is unusable after a panicking transaction: %v", err)
	}
}

func TestNewMemStorePanicsOnABadOption(t *testing.T) {
	t.Parallel()
	defer func() {
		p := recover()
		err, ok := p.(error)
		if !ok || !strings.HasPrefix(err.Error(), "hubsynctest: WithMemMaxAttempts: ") {
			t.Fatalf("NewMemStore(WithMemMaxAttempts(0)) panicked with %v, want an error naming the option", p)
		}
	}()
	hubsynctest.NewMemStore(hubsynctest.WithMemMaxAttempts(0))
}
