package hubsync_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/hubsync/hubsync"
)

// countingQueue counts the engine's single-job and batched acks, and can refuse AckMany.
type countingQueue struct {
	storeQueue
	refuseMany     bool
	acks, ackManys atomic.Int64
}

func (c *countingQueue) Ack(ctx context.Context, j hubsync.Job) error {
	c.acks.Add(1)
	return c.storeQueue.Ack(ctx, j)
}

func (c *countingQueue) AckMany(ctx context.Context, jobs []hubsync.Job) ([]int64, error) {
	c.ackManys.Add(1)
	if c.refuseMany {
		return nil, errors.New("injected fault: AckMany refused")
	}
	return c.storeQueue.AckMany(ctx, jobs)
}

// TestEngineAcksABatchWithOneAckMany: a batch of several jobs that succeeded is acked with one
// AckMany, no single-job Ack; when AckMany fails the engine says so and acks the jobs one by one,
// and the queue ends empty either way.
func TestEngineAcksABatchWithOneAckMany(t *testing.T) {
	t.Parallel()
	for _, refuse := range []bool{false, true} {
		var q *countingQueue
		r := newFaultRig(t, rigOptions{store: func(h *harness) storeQueue { q = &countingQueue{storeQueue: h.store, refuseMany: refuse}; return q }})
		r.connect()
		r.settings(hubsync.Settings{Mappings: basicMapping})
		r.changeAll()
		r.runUntil("landed", r.landed)
		r.settled(t)
		if q.ackManys.Load() == 0 {
			t.Fatalf("refuse=%v: the engine never called AckMany", refuse)
		}
		if !refuse && q.acks.Load() != 0 {
			t.Errorf("the engine acked %d jobs one by one, with AckMany working", q.acks.Load())
		}
		if refuse {
			if q.acks.Load() < int64(len(faultEmails)) {
				t.Errorf("with AckMany refused the engine acked %d jobs one by one, want at least %d", q.acks.Load(), len(faultEmails))
			}
			r.logs.mustHave(t, "level=WARN", "could not finish a batch in one write", "injected fault: AckMany refused")
		}
	}
}
