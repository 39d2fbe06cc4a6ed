package hubsynctest

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hubsync/hubsync"
)

// MemLeaseDefault is the lease MemStore.Dequeue gives when DequeueOptions.Lease is zero.
const MemLeaseDefault = time.Minute

// memJob is one job in the in-memory queue. LeaseToken is "" unless the job is leased (its lease
// may have expired).
type memJob struct {
	hubsync.Job
	dead   bool
	deadAt time.Time
	worker string // DequeueOptions.Worker of the lease
	hidx   int    // index in its school's ready heap; -1 when in none
}

// memQueue holds the jobs and the indexes Dequeue uses. Only jobs is the truth: everything else
// is rebuilt from it after a rolled-back transaction.
type memQueue struct {
	jobs     map[int64]*memJob
	nextID   int64
	leaseSeq int64
	serveSeq int64
	// keys lists the live (not dead) jobs of each school and key, in id order.
	keys    map[schoolKey][]int64
	schools map[hubsync.SchoolID]*memSchool
	leased  map[int64]struct{}
}

// memSchool is one school's part of the queue.
type memSchool struct {
	// ready holds, per priority, the jobs that may be dequeued once their RunAt comes: not dead,
	// not leased, and first of their key with no job of the key leased.
	ready  [2]jobHeap
	all    map[int64]struct{}
	served int64 // serveSeq when Dequeue last served the school; 0 never
}

func (q *memQueue) init() {
	q.jobs = map[int64]*memJob{}
	q.keys = map[schoolKey][]int64{}
	q.schools = map[hubsync.SchoolID]*memSchool{}
	q.leased = map[int64]struct{}{}
}

func (q *memQueue) school(s hubsync.SchoolID) *memSchool {
	sc := q.schools[s]
	if sc == nil {
		sc = &memSchool{all: map[int64]struct{}{}}
		q.schools[s] = sc
	}
	return sc
}

// rebuild recomputes every index from q.jobs.
func (q *memQueue) rebuild() {
	served := map[hubsync.SchoolID]int64{}
	for s, sc := range q.schools {
		served[s] = sc.served
	}
	jobs := q.jobs
	q.init()
	q.jobs = jobs
	ids := make([]int64, 0, len(jobs))
	for id := range jobs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		j := jobs[id]
		j.hidx = -1
		sc := q.school(j.School)
		sc.served = served[j.School]
		sc.all[id] = struct{}{}
		if j.dead {
			continue
		}
		if j.LeaseToken != "" {
			q.leased[id] = struct{}{}
		}
		if j.Key != "" {
			k := schoolKey{j.School, j.Key}
			q.keys[k] = append(q.keys[k], id)
		}
	}
	for _, id := range ids {
		q.sync(jobs[id])
	}
}

// candidate reports whether j belongs in its school's ready heap.
func (q *memQueue) candidate(j *memJob) bool {
	if j.dead || j.LeaseToken != "" {
		return false
	}
	if j.Key == "" {
		return true
	}
	list := q.keys[schoolKey{j.School, j.Key}]
	if len(list) == 0 || list[0] != j.ID {
		return false
	}
	for _, id := range list[1:] {
		if q.jobs[id].LeaseToken != "" {
			return false
		}
	}
	return true
}

// sync puts j into, or takes it out of, its ready heap as candidate says.
func (q *memQueue) sync(j *memJob) {
	want := q.candidate(j)
	h := &q.school(j.School).ready[j.Priority]
	switch {
	case want && j.hidx < 0:
		heap.Push(h, j)
	case !want && j.hidx >= 0:
		heap.Remove(h, j.hidx)
	}
}

// syncKey re-syncs every job of j's key (or j alone when it has none).
func (q *memQueue) syncKey(j *memJob) {
	if j.Key == "" {
		q.sync(j)
		return
	}
	for _, id := range q.keys[schoolKey{j.School, j.Key}] {
		q.sync(q.jobs[id])
	}
}

// unheap takes j out of its ready heap, if there, before a change to its priority or RunAt.
func (q *memQueue) unheap(j *memJob) {
	if j.hidx >= 0 {
		heap.Remove(&q.school(j.School).ready[j.Priority], j.hidx)
	}
}

// dropFromKey removes j from its key's list (it was acked or died).
func (q *memQueue) dropFromKey(j *memJob) {
	if j.Key == "" {
		return
	}
	k := schoolKey{j.School, j.Key}
	list := slices.DeleteFunc(q.keys[k], func(id int64) bool { return id == j.ID })
	if len(list) == 0 {
		delete(q.keys, k)
	} else {
		q.keys[k] = list
	}
}

func validateSpecs(jobs []hubsync.JobSpec) error {
	if err := hubsync.ValidateJobs(jobs); err != nil {
		return fmt.Errorf("hubsynctest: enqueue: %w", err)
	}
	return nil
}

// Enqueue adds jobs, coalescing by key (see hubsync.JobSpec.Key). A job with no school, no kind or
// an unknown priority fails the whole call and nothing is enqueued.
func (m *MemStore) Enqueue(ctx context.Context, jobs ...hubsync.JobSpec) error {
	if err := validateSpecs(jobs); err != nil {
		return err
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	d, q := m.d, &m.d.q
	now := d.clk.Now()
	for _, s := range jobs {
		if s.RunAt.IsZero() {
			s.RunAt = now
		}
		s.Payload = slices.Clone(s.Payload)
		if s.Key != "" {
			list := q.keys[schoolKey{s.School, s.Key}]
			var target *memJob
			for i := len(list) - 1; i >= 0; i-- {
				if j := q.jobs[list[i]]; j.LeaseToken == "" {
					target = j
					break
				}
			}
			if target != nil {
				d.saveJob(target.ID)
				q.unheap(target)
				target.Kind, target.Payload = s.Kind, s.Payload
				target.Priority = min(target.Priority, s.Priority)
				if s.RunAt.Before(target.RunAt) {
					target.RunAt = s.RunAt
				}
				q.syncKey(target)
				continue
			}
		}
		q.nextID++
		j := &memJob{Job: hubsync.Job{ID: q.nextID, JobSpec: s, EnqueuedAt: now}, hidx: -1}
		d.saveJob(j.ID)
		q.jobs[j.ID] = j
		q.school(s.School).all[j.ID] = struct{}{}
		if s.Key != "" {
			k := schoolKey{s.School, s.Key}
			q.keys[k] = append(q.keys[k], j.ID)
		}
		q.syncKey(j)
	}
	return nil
}

// Dequeue leases up to opts.Max ready jobs of one school: the school served least recently among
// those with ready jobs, live jobs first. A zero opts.Lease means MemLeaseDefault. A job whose
// lease expired is taken over with its attempt count increased, or dead-lettered when that count
// reaches MaxAttempts.
func (m *MemStore) Dequeue(ctx context.Context, opts hubsync.DequeueOptions) ([]hubsync.Job, error) {
	if opts.Max < 0 || opts.Lease < 0 {
		return nil, fmt.Errorf("hubsynctest: dequeue: negative Max (%d) or Lease (%v)", opts.Max, opts.Lease)
	}
	max, lease := cmp.Or(opts.Max, 1), cmp.Or(opts.Lease, MemLeaseDefault)
	unlock, err := m.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	d, q := m.d, &m.d.q
	now := d.clk.Now()
	kindOK := func(j *memJob) bool { return len(opts.Kinds) == 0 || slices.Contains(opts.Kinds, j.Kind) }

	expired := map[hubsync.SchoolID][]*memJob{}
	for id := range q.leased {
		j := q.jobs[id]
		if j.LeaseUntil.After(now) {
			continue
		}
		if j.Attempts+1 >= d.maxAttempts {
			// A job that keeps outliving its workers' leases: its last try counts, and it is dead.
			d.saveJob(id)
			delete(q.leased, id)
			j.Attempts++
			j.LastError = expiredError(j)
			j.LeaseToken, j.LeaseUntil = "", time.Time{}
			j.dead, j.deadAt = true, now
			q.dropFromKey(j)
			q.syncKey(j)
			continue
		}
		if kindOK(j) {
			expired[j.School] = append(expired[j.School], j)
		}
	}
	busy := map[hubsync.SchoolID]bool{}
	if len(opts.ExcludeLeasedKeys) > 0 {
		for id := range q.leased {
			if j := q.jobs[id]; j.LeaseUntil.After(now) && slices.Contains(opts.ExcludeLeasedKeys, j.Key) {
				busy[j.School] = true
			}
		}
	}
	var order []hubsync.SchoolID
	for s, sc := range q.schools {
		if slices.Contains(opts.Exclude, s) || (len(opts.Schools) > 0 && !slices.Contains(opts.Schools, s)) || busy[s] {
			continue
		}
		if len(expired[s]) > 0 || sc.ready[0].dueBy(now) || sc.ready[1].dueBy(now) {
			order = append(order, s)
		}
	}
	slices.SortFunc(order, func(a, b hubsync.SchoolID) int {
		return cmp.Or(cmp.Compare(q.schools[a].served, q.schools[b].served), cmp.Compare(a, b))
	})
	for _, s := range order {
		sc := q.schools[s]
		cands := slices.Clone(expired[s])
		var stash []*memJob
		for p := range sc.ready {
			h := &sc.ready[p]
			for taken := 0; taken < max && h.dueBy(now); {
				j := heap.Pop(h).(*memJob)
				if kindOK(j) {
					cands = append(cands, j)
					taken++
				} else {
					stash = append(stash, j)
				}
			}
		}
		slices.SortFunc(cands, func(a, b *memJob) int {
			return cmp.Or(cmp.Compare(a.Priority, b.Priority), a.RunAt.Compare(b.RunAt), cmp.Compare(a.ID, b.ID))
		})
		picked := cands[:min(max, len(cands))]
		for _, j := range append(stash, cands[len(picked):]...) {
			q.sync(j)
		}
		if len(picked) == 0 {
			continue
		}
		q.serveSeq++
		sc.served = q.serveSeq
		out := make([]hubsync.Job, 0, len(picked))
		for _, j := range picked {
			d.saveJob(j.ID)
			if j.LeaseToken != "" {
				j.Attempts++
				j.LastError = expiredError(j)
			}
			q.leaseSeq++
			j.LeaseToken = strconv.FormatInt(j.ID, 10) + "." + strconv.FormatInt(q.leaseSeq, 10)
			j.LeaseUntil, j.worker = now.Add(lease), opts.Worker
			q.leased[j.ID] = struct{}{}
			q.syncKey(j)
			job := j.Job
			job.Payload = slices.Clone(job.Payload)
			out = append(out, job)
		}
		return out, nil
	}
	return []hubsync.Job{}, nil
}

// expiredError is the LastError of a job whose lease expired.
func expiredError(j *memJob) string {
	return "hubsynctest: lease expired at " + j.LeaseUntil.UTC().Format(time.RFC3339Nano) + " before the worker finished"
}

// leasedJob returns the job j leases, or an error wrapping hubsync.ErrLeaseLost when j's lease
// is no longer the job's.
func (q *memQueue) leasedJob(op string, j hubsync.Job) (*memJob, error) {
	mj := q.jobs[j.ID]
	if mj == nil || mj.dead || mj.LeaseToken == "" || mj.LeaseToken != j.LeaseToken {
		return nil, fmt.Errorf("hubsynctest: %s job %d: %w", op, j.ID, hubsync.ErrLeaseLost)
	}
	return mj, nil
}

// Ack completes and deletes a leased job; hubsync.ErrLeaseLost when the lease is no longer j's.
func (m *MemStore) Ack(ctx context.Context, j hubsync.Job) error {
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	return m.ack(j)
}

// ack is Ack under the store's lock.
func (m *MemStore) ack(j hubsync.Job) error {
	q := &m.d.q
	mj, err := q.leasedJob("ack", j)
	if err != nil {
		return err
	}
	m.d.saveJob(mj.ID)
	delete(q.jobs, mj.ID)
	delete(q.leased, mj.ID)
	delete(q.school(mj.School).all, mj.ID)
	q.dropFromKey(mj)
	if mj.Key != "" {
		for _, id := range q.keys[schoolKey{mj.School, mj.Key}] {
			q.sync(q.jobs[id])
		}
	}
	return nil
}

// Retry gives a leased job back to run at runAt (zero: now), counting the attempt and recording
// cause; the attempt that reaches the store's MaxAttempts dead-letters the job instead.
// hubsync.ErrLeaseLost when the lease is no longer j's.
func (m *MemStore) Retry(ctx context.Context, j hubsync.Job, runAt time.Time, cause string) error {
	return m.giveBack(ctx, "retry", j, runAt, &cause, false)
}

// Release gives a leased job back to run at runAt (zero: now) without counting an attempt.
// hubsync.ErrLeaseLost when the lease is no longer j's.
func (m *MemStore) Release(ctx context.Context, j hubsync.Job, runAt time.Time) error {
	return m.giveBack(ctx, "release", j, runAt, nil, false)
}

// AckMany acks, under the store's lock, every job of jobs whose lease is still the job's, and
// returns the ids of the others, in the order given (see hubsync.Queue).
func (m *MemStore) AckMany(ctx context.Context, jobs []hubsync.Job) ([]int64, error) {
	return m.many(ctx, jobs, m.ack)
}

// ReleaseMany releases, under the store's lock, every job of jobs whose lease is still the job's,
// to run at runAt (zero: now), and returns the ids of the others, in the order given.
func (m *MemStore) ReleaseMany(ctx context.Context, jobs []hubsync.Job, runAt time.Time) ([]int64, error) {
	return m.many(ctx, jobs, func(j hubsync.Job) error { return m.giveBackLocked("release", j, runAt, nil, false) })
}

// many runs op, under the store's lock, once for each distinct lease of jobs and returns the ids
// of the jobs whose op failed with hubsync.ErrLeaseLost.
func (m *MemStore) many(ctx context.Context, jobs []hubsync.Job, op func(hubsync.Job) error) ([]int64, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	type lease struct {
		id    int64
		token string
	}
	done := make(map[lease]bool, len(jobs))
	var lost []int64
	for _, j := range jobs {
		l := lease{j.ID, j.LeaseToken}
		ok, seen := done[l]
		if !seen {
			ok = op(j) == nil // op fails only with ErrLeaseLost
			done[l] = ok
		}
		if !ok {
			lost = append(lost, j.ID)
		}
	}
	return lost, nil
}

// Extend renews to until, under the store's lock, the leases of jobs whose lease token is still
// the job's (an expired lease nobody took over included), and returns the ids of the others, in
// the order given. An until not after the clock's now fails with an error wrapping
// hubsync.ErrInvalidValue and extends nothing.
func (m *MemStore) Extend(ctx context.Context, jobs []hubsync.Job, until time.Time) ([]int64, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	d, q := m.d, &m.d.q
	if now := d.clk.Now(); !until.After(now) {
		return nil, fmt.Errorf("hubsynctest: extend the leases of %d jobs: lease end %s is not after the clock's now %s: %w",
			len(jobs), until.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano), hubsync.ErrInvalidValue)
	}
	var lost []int64
	for _, j := range jobs {
		mj, err := q.leasedJob("extend", j)
		if err != nil {
			lost = append(lost, j.ID)
			continue
		}
		d.saveJob(mj.ID)
		mj.LeaseUntil = until
	}
	return lost, nil
}

// Holders lists, each once and sorted, the workers holding a lease that has not expired.
func (m *MemStore) Holders(ctx context.Context) ([]string, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	d, q := m.d, &m.d.q
	now := d.clk.Now()
	out := []string{}
	for id := range q.leased {
		if j := q.jobs[id]; j.worker != "" && j.LeaseUntil.After(now) && !slices.Contains(out, j.worker) {
			out = append(out, j.worker)
		}
	}
	slices.Sort(out)
	return out, nil
}

// ExpireLeases ends now the unexpired leases of the jobs worker holds, so the next Dequeue takes
// them over; it returns how many it ended.
func (m *MemStore) ExpireLeases(ctx context.Context, worker string) (int, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	d, q := m.d, &m.d.q
	now := d.clk.Now()
	n := 0
	for id := range q.leased {
		if j := q.jobs[id]; j.worker == worker && j.LeaseUntil.After(now) {
			d.saveJob(id)
			j.LeaseUntil = now
			n++
		}
	}
	return n, nil
}

// Kill dead-letters a leased job at once, counting the attempt and recording cause.
// hubsync.ErrLeaseLost when the lease is no longer j's.
func (m *MemStore) Kill(ctx context.Context, j hubsync.Job, cause string) error {
	return m.giveBack(ctx, "kill", j, time.Time{}, &cause, true)
}

// giveBack ends j's lease: without a cause the job waits again (Release); with one the attempt
// counts and the job waits again, or is dead when kill is set or the count reaches MaxAttempts.
func (m *MemStore) giveBack(ctx context.Context, op string, j hubsync.Job, runAt time.Time, cause *string, kill bool) error {
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	return m.giveBackLocked(op, j, runAt, cause, kill)
}

// giveBackLocked is giveBack under the store's lock.
func (m *MemStore) giveBackLocked(op string, j hubsync.Job, runAt time.Time, cause *string, kill bool) error {
	d, q := m.d, &m.d.q
	mj, err := q.leasedJob(op, j)
	if err != nil {
		return err
	}
	now := d.clk.Now()
	d.saveJob(mj.ID)
	delete(q.leased, mj.ID)
	mj.LeaseToken, mj.LeaseUntil = "", time.Time{}
	if !kill {
		mj.RunAt = runAt
		if runAt.IsZero() {
			mj.RunAt = now
		}
	}
	if cause != nil {
		mj.Attempts++
		mj.LastError = *cause
		if kill || mj.Attempts >= d.maxAttempts {
			mj.dead, mj.deadAt = true, now
			q.dropFromKey(mj)
		}
	}
	q.syncKey(mj)
	return nil
}

// DeadLetters lists a school's dead-lettered jobs, oldest death first.
func (m *MemStore) DeadLetters(ctx context.Context, school hubsync.SchoolID) ([]hubsync.Job, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	q := &m.d.q
	var dead []*memJob
	if sc := q.schools[school]; sc != nil {
		for id := range sc.all {
			if j := q.jobs[id]; j.dead {
				dead = append(dead, j)
			}
		}
	}
	slices.SortFunc(dead, func(a, b *memJob) int { return cmp.Or(a.deadAt.Compare(b.deadAt), cmp.Compare(a.ID, b.ID)) })
	out := make([]hubsync.Job, len(dead))
	for i, j := range dead {
		out[i] = j.Job
		out[i].Payload = slices.Clone(j.Payload)
	}
	return out, nil
}

// Replay makes dead job id ready now with its attempts reset; hubsync.ErrNotFound when no dead
// job has that id.
func (m *MemStore) Replay(ctx context.Context, id int64) error {
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	d, q := m.d, &m.d.q
	j := q.jobs[id]
	if j == nil || !j.dead {
		return fmt.Errorf("hubsynctest: replay job %d: no dead job with that id: %w", id, hubsync.ErrNotFound)
	}
	d.saveJob(id)
	j.dead, j.deadAt = false, time.Time{}
	j.Attempts = 0
	j.RunAt = d.clk.Now()
	if j.Key != "" {
		k := schoolKey{j.School, j.Key}
		list := q.keys[k]
		i, _ := slices.BinarySearch(list, id)
		q.keys[k] = slices.Insert(list, i, id)
	}
	q.syncKey(j)
	return nil
}

// Discard deletes dead job id; hubsync.ErrNotFound when no dead job has that id.
func (m *MemStore) Discard(ctx context.Context, id int64) error {
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	q := &m.d.q
	j := q.jobs[id]
	if j == nil || !j.dead {
		return fmt.Errorf("hubsynctest: discard job %d: no dead job with that id: %w", id, hubsync.ErrNotFound)
	}
	m.d.saveJob(id)
	delete(q.jobs, id)
	delete(q.school(j.School).all, id)
	return nil
}

// Stats counts a school's jobs by state (see hubsync.QueueStats for what each count holds).
func (m *MemStore) Stats(ctx context.Context, school hubsync.SchoolID) (hubsync.QueueStats, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return hubsync.QueueStats{}, err
	}
	defer unlock()
	q := &m.d.q
	now := m.d.clk.Now()
	var st hubsync.QueueStats
	sc := q.schools[school]
	if sc == nil {
		return st, nil
	}
	for id := range sc.all {
		j := q.jobs[id]
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
	}
	return st, nil
}

// NextRunAt returns the earliest time a waiting job (including one whose lease expired) becomes
// due across all schools; ok is false when no job waits.
func (m *MemStore) NextRunAt(ctx context.Context) (time.Time, bool, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return time.Time{}, false, err
	}
	defer unlock()
	now := m.d.clk.Now()
	var next time.Time
	ok := false
	for _, j := range m.d.q.jobs {
		t := j.RunAt
		switch {
		case j.dead:
			continue
		case j.LeaseToken != "":
			if j.LeaseUntil.After(now) {
				continue
			}
			t = j.LeaseUntil
		}
		if !ok || t.Before(next) {
			next, ok = t, true
		}
	}
	return next, ok, nil
}

// jobHeap orders a school's ready jobs of one priority by RunAt, then enqueue order.
type jobHeap []*memJob

func (h jobHeap) Len() int { return len(h) }
func (h jobHeap) Less(i, k int) bool {
	return cmp.Or(h[i].RunAt.Compare(h[k].RunAt), cmp.Compare(h[i].ID, h[k].ID)) < 0
}
func (h jobHeap) Swap(i, k int) {
	h[i], h[k] = h[k], h[i]
	h[i].hidx, h[k].hidx = i, k
}
func (h *jobHeap) Push(x any) {
	j := x.(*memJob)
	j.hidx = len(*h)
	*h = append(*h, j)
}
func (h *jobHeap) Pop() any {
	old := *h
	j := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	j.hidx = -1
	return j
}

// dueBy reports whether the heap's first job is due at now.
func (h jobHeap) dueBy(now time.Time) bool { return len(h) > 0 && !h[0].RunAt.After(now) }
