package hubsynctest

import (
	"context"

	"github.com/hubsync/hubsync"
)

var (
	_ hubsync.KindStatser      = (*MemStore)(nil)
	_ hubsync.SyncStateBatcher = (*MemStore)(nil)
)

// StatsByKind counts a school's jobs by kind and state, as Stats does for all kinds together.
// A kind with no job is absent.
func (m *MemStore) StatsByKind(ctx context.Context, school hubsync.SchoolID) (map[hubsync.JobKind]hubsync.QueueStats, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	q := &m.d.q
	now := m.d.clk.Now()
	out := map[hubsync.JobKind]hubsync.QueueStats{}
	sc := q.schools[school]
	if sc == nil {
		return out, nil
	}
	for id := range sc.all {
		j := q.jobs[id]
		st := out[j.Kind]
		switch {
		case j.dead:
			st.Dead++
		case j.LeaseToken != "" && j.LeaseUntil.After(now):
			st.Leased++
		case j.LeaseToken == "" && j.RunAt.After(now):
			st.Scheduled++
		default:
			st.Ready++
		}
		out[j.Kind] = st
	}
	return out, nil
}
