package hubsynctest

import (
	"context"

	"github.com/hubsync/hubsync"
)

// A transaction of the in-memory store holds the store's lock while fn runs and records, for
// every change it makes, a function that restores what was there; a rollback runs them
// newest first and rebuilds the queue's indexes.

// RunInTx runs fn with a Store and Queue whose changes are undone when fn returns an error (which
// RunInTx then returns). Other callers wait until fn returns. Inside fn, RunInTx joins the
// running transaction.
func (m *MemStore) RunInTx(ctx context.Context, fn func(ctx context.Context, s hubsync.Store, q hubsync.Queue) error) error {
	if m.mu == nil {
		return fn(ctx, m, m)
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	undo := []func(){}
	m.d.undo = &undo
	rollback := func() {
		m.d.undo = nil
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		m.d.q.rebuild()
	}
	done := false
	defer func() {
		if !done { // fn panicked: undo its changes, then panic on
			rollback()
		}
	}()
	view := &MemStore{d: m.d}
	err = fn(ctx, view, view)
	done = true
	if err != nil {
		rollback()
		return err
	}
	m.d.undo = nil
	return nil
}

// setMap sets m[k] = v, recording the old entry when a transaction runs.
func setMap[K comparable, V any](d *memData, m map[K]V, k K, v V) {
	if d.undo != nil {
		old, had := m[k]
		*d.undo = append(*d.undo, func() {
			if had {
				m[k] = old
			} else {
				delete(m, k)
			}
		})
	}
	m[k] = v
}

// deleteMap deletes m[k], recording the old entry when a transaction runs.
func deleteMap[K comparable, V any](d *memData, m map[K]V, k K) {
	old, had := m[k]
	if !had {
		return
	}
	if d.undo != nil {
		*d.undo = append(*d.undo, func() { m[k] = old })
	}
	delete(m, k)
}

// saveJob records, while a transaction runs, how to restore job id as it is now.
func (d *memData) saveJob(id int64) {
	if d.undo == nil {
		return
	}
	jobs := d.q.jobs
	old, had := jobs[id]
	var saved memJob
	if had {
		saved = *old
	}
	*d.undo = append(*d.undo, func() {
		if had {
			*old = saved
			jobs[id] = old
		} else {
			delete(jobs, id)
		}
	})
}
