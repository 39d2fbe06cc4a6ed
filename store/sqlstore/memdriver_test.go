package sqlstore_test

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlstore"
)

// memDriver is a sqlstore.Driver over Go maps, written from the Executor's contract comments
// alone: the third driver, which proves that a driver is one small package and that the
// engine-facing logic needs nothing of a driver that the interface does not say. One mutex makes
// every operation atomic; a transaction holds it throughout and restores a copy of the state when
// its function fails.
type memDriver struct{ db *memDB }

func newMemDriver() memDriver { return memDriver{db: &memDB{st: newMemState()}} }

func (d memDriver) Name() string                { return "memstore" }
func (d memDriver) Executor() sqlstore.Executor { return &memExec{db: d.db} }
func (d memDriver) Refusing(error) bool         { return false }
func (d memDriver) raw() (out []sqlstore.ConnectionRow) {
	d.db.mu.Lock()
	defer d.db.mu.Unlock()
	return slices.Collect(maps.Values(d.db.st.conns))
}

func (d memDriver) rawLMS() (out []sqlstore.LMSConnectionRow) {
	d.db.mu.Lock()
	defer d.db.mu.Unlock()
	return slices.Collect(maps.Values(d.db.st.lms))
}

type memDB struct {
	mu sync.Mutex
	st *memState
}

type key2 [2]string

type memJob struct {
	sqlstore.JobRow
	state  string // waiting, leased, dead
	seq    int64  // the order of the key's jobs (a replay takes a new one)
	deadAt time.Time
	worker string
}

type memState struct {
	settings    map[string][]byte
	gens        map[string]int64
	conns       map[string]sqlstore.ConnectionRow
	lms         map[string]sqlstore.LMSConnectionRow
	states      map[key2]sqlstore.SyncStateRow
	once        map[key2]string
	webhooks    map[key2]time.Time
	checkpoints map[key2]sqlstore.CheckpointRow
	log         []sqlstore.SyncLogRow
	health      map[[4]string]sqlstore.HealthRow
	jobs        map[int64]memJob
	served      map[string]int64
	logID       int64
	jobID, seq  int64
	serveSeq    int64
}

func newMemState() *memState {
	return &memState{settings: map[string][]byte{}, gens: map[string]int64{}, conns: map[string]sqlstore.ConnectionRow{},
		lms:    map[string]sqlstore.LMSConnectionRow{},
		states: map[key2]sqlstore.SyncStateRow{}, once: map[key2]string{}, webhooks: map[key2]time.Time{},
		checkpoints: map[key2]sqlstore.CheckpointRow{}, health: map[[4]string]sqlstore.HealthRow{},
		jobs: map[int64]memJob{}, served: map[string]int64{}}
}

// clone copies the state (rows are values; their byte slices are never written in place).
func (m *memState) clone() *memState {
	c := *m
	c.settings, c.gens, c.conns, c.states = maps.Clone(m.settings), maps.Clone(m.gens), maps.Clone(m.conns), maps.Clone(m.states)
	c.once, c.webhooks, c.checkpoints = maps.Clone(m.once), maps.Clone(m.webhooks), maps.Clone(m.checkpoints)
	c.log, c.health, c.jobs, c.served = slices.Clone(m.log), maps.Clone(m.health), maps.Clone(m.jobs), maps.Clone(m.served)
	c.lms = maps.Clone(m.lms)
	return &c
}

// memExec runs operations on the pool (inTx false: each takes the mutex) or inside a transaction
// (which holds it).
type memExec struct {
	db   *memDB
	inTx bool
}

var _ sqlstore.Executor = (*memExec)(nil)

func (x *memExec) do(fn func(st *memState)) {
	if !x.inTx {
		x.db.mu.Lock()
		defer x.db.mu.Unlock()
	}
	fn(x.db.st)
}

func (x *memExec) InTx(ctx context.Context, fn func(ctx context.Context, tx sqlstore.Executor) error) error {
	if x.inTx {
		return fn(ctx, x)
	}
	x.db.mu.Lock()
	defer x.db.mu.Unlock()
	saved := x.db.st.clone()
	if err := fn(ctx, &memExec{db: x.db, inTx: true}); err != nil {
		x.db.st = saved
		return err
	}
	return nil
}

func (x *memExec) SettingsPut(_ context.Context, school string, data []byte, _ time.Time) error {
	x.do(func(st *memState) { st.settings[school] = slices.Clone(data) })
	return nil
}

func (x *memExec) SettingsGet(_ context.Context, school string) (data []byte, err error) {
	x.do(func(st *memState) {
		var ok bool
		if data, ok = st.settings[school]; !ok {
			err = hubsync.ErrNotFound
		}
	})
	return data, err
}

func (x *memExec) SchoolsList(context.Context) (out []string, _ error) {
	x.do(func(st *memState) {
		out = slices.Sorted(maps.Keys(st.settings))
		for s := range st.conns {
			out = append(out, s)
		}
		for s := range st.lms {
			out = append(out, s)
		}
		slices.Sort(out)
		out = slices.Compact(out)
	})
	return out, nil
}

func (x *memExec) ConnectionPut(_ context.Context, c sqlstore.ConnectionRow) (gen int64, _ error) {
	x.do(func(st *memState) {
		st.gens[c.School]++
		gen = st.gens[c.School]
		c.Generation = gen
		st.conns[c.School] = c
	})
	return gen, nil
}

func (x *memExec) ConnectionGet(_ context.Context, school string) (c sqlstore.ConnectionRow, err error) {
	x.do(func(st *memState) {
		var ok bool
		if c, ok = st.conns[school]; !ok {
			err = hubsync.ErrNotFound
		}
	})
	return c, err
}

func (x *memExec) ConnectionDelete(_ context.Context, school string) error {
	x.do(func(st *memState) {
		st.gens[school]++
		delete(st.conns, school)
	})
	return nil
}

func (x *memExec) LMSConnectionPut(_ context.Context, r sqlstore.LMSConnectionRow) error {
	x.do(func(st *memState) { st.lms[r.School] = r })
	return nil
}

func (x *memExec) LMSConnectionGet(_ context.Context, school string) (r sqlstore.LMSConnectionRow, err error) {
	x.do(func(st *memState) {
		var ok bool
		if r, ok = st.lms[school]; !ok {
			err = hubsync.ErrNotFound
		}
	})
	return r, err
}

func (x *memExec) LMSConnectionDelete(_ context.Context, school string) error {
	x.do(func(st *memState) { delete(st.lms, school) })
	return nil
}

func (x *memExec) SyncStateGet(_ context.Context, school, email string) (r sqlstore.SyncStateRow, err error) {
	x.do(func(st *memState) {
		var ok bool
		if r, ok = st.states[key2{school, email}]; !ok {
			err = hubsync.ErrNotFound
		}
	})
	return r, err
}

func (x *memExec) SyncStatePut(_ context.Context, r sqlstore.SyncStateRow) error {
	x.do(func(st *memState) { st.states[key2{r.School, r.Email}] = r })
	return nil
}

func (x *memExec) SyncStateGetMany(_ context.Context, school string, emails []string) (out []sqlstore.SyncStateRow, _ error) {
	x.do(func(st *memState) {
		for _, em := range emails {
			if r, ok := st.states[key2{school, em}]; ok {
				out = append(out, r)
			}
		}
	})
	return out, nil
}

func (x *memExec) SyncStatePutMany(_ context.Context, rows []sqlstore.SyncStateRow) error {
	x.do(func(st *memState) {
		for _, r := range rows {
			st.states[key2{r.School, r.Email}] = r
		}
	})
	return nil
}

func (x *memExec) SyncStateSwapMany(_ context.Context, swaps []sqlstore.SyncStateSwapRow) (conflicts []string, _ error) {
	x.do(func(st *memState) {
		for _, sw := range swaps {
			k := key2{sw.Row.School, sw.Row.Email}
			cur, ok := st.states[k]
			if ok != sw.Existed || (ok && !cur.UpdatedAt.Equal(sw.ReadUpdatedAt)) {
				conflicts = append(conflicts, sw.Row.Email)
				continue
			}
			st.states[k] = sw.Row
		}
	})
	return conflicts, nil
}

func (x *memExec) SyncStateList(_ context.Context, school, after string, limit int) (out []sqlstore.SyncStateRow, _ error) {
	x.do(func(st *memState) {
		for k, r := range st.states {
			if k[0] == school && k[1] > after {
				out = append(out, r)
			}
		}
	})
	slices.SortFunc(out, func(a, b sqlstore.SyncStateRow) int { return cmp.Compare(a.Email, b.Email) })
	return out[:min(limit, len(out))], nil
}

func (x *memExec) OnceClaim(_ context.Context, school, key, occurrence string, _ time.Time) (owner string, _ error) {
	x.do(func(st *memState) {
		k := key2{school, key}
		if _, ok := st.once[k]; !ok {
			st.once[k] = occurrence
		}
		owner = st.once[k]
	})
	return owner, nil
}

func (x *memExec) WebhookMark(_ context.Context, source, eventID string, at time.Time) (first bool, _ error) {
	x.do(func(st *memState) {
		k := key2{source, eventID}
		if _, seen := st.webhooks[k]; !seen {
			st.webhooks[k], first = at, true
		}
	})
	return first, nil
}

func (x *memExec) WebhookForget(_ context.Context, before time.Time, limit int) (n int, _ error) {
	x.do(func(st *memState) {
		for k, at := range st.webhooks {
			if n < limit && at.Before(before) {
				delete(st.webhooks, k)
				n++
			}
		}
	})
	return n, nil
}

func (x *memExec) CheckpointPut(_ context.Context, c sqlstore.CheckpointRow) error {
	x.do(func(st *memState) { c.Data = slices.Clone(c.Data); st.checkpoints[key2{c.School, c.Name}] = c })
	return nil
}

func (x *memExec) CheckpointGet(_ context.Context, school, name string) (c sqlstore.CheckpointRow, err error) {
	x.do(func(st *memState) {
		var ok bool
		if c, ok = st.checkpoints[key2{school, name}]; !ok {
			err = hubsync.ErrNotFound
		}
	})
	return c, err
}

func (x *memExec) CheckpointDelete(_ context.Context, school, name string) error {
	x.do(func(st *memState) { delete(st.checkpoints, key2{school, name}) })
	return nil
}

func (x *memExec) SyncLogAppend(_ context.Context, rows []sqlstore.SyncLogRow) error {
	x.do(func(st *memState) {
		for _, r := range rows {
			st.logID++
			r.ID = st.logID
			st.log = append(st.log, r)
		}
	})
	return nil
}

func (x *memExec) SyncLogList(_ context.Context, q sqlstore.SyncLogQuery) (out []sqlstore.SyncLogRow, _ error) {
	x.do(func(st *memState) {
		for _, r := range st.log {
			if r.School == q.School && (q.Outcome == "" || r.Outcome == q.Outcome) &&
				(q.EmailFolded == "" || r.EmailFolded == q.EmailFolded) && (q.Since.IsZero() || !r.At.Before(q.Since)) {
				out = append(out, r)
			}
		}
	})
	slices.SortFunc(out, func(a, b sqlstore.SyncLogRow) int { return cmp.Or(b.At.Compare(a.At), cmp.Compare(b.ID, a.ID)) })
	return out[:min(q.Limit, len(out))], nil
}

func (x *memExec) SyncLogForget(_ context.Context, before time.Time, limit int) (n int, _ error) {
	x.do(func(st *memState) {
		st.log = slices.DeleteFunc(st.log, func(r sqlstore.SyncLogRow) bool {
			if n < limit && r.At.Before(before) {
				n++
				return true
			}
			return false
		})
	})
	return n, nil
}

func (x *memExec) HealthPut(_ context.Context, rows []sqlstore.HealthRow) error {
	x.do(func(st *memState) {
		for _, h := range rows {
			k := [4]string{h.School, h.Email, h.LearnerID, h.Direction}
			if h.Status == string(hubsync.HealthInSync) {
				delete(st.health, k)
			} else {
				st.health[k] = h
			}
		}
	})
	return nil
}

func (x *memExec) HealthList(_ context.Context, q sqlstore.HealthQuery) (out []sqlstore.HealthRow, _ error) {
	after := [3]string{q.AfterEmail, q.AfterLearner, q.AfterDirection}
	order := func(h sqlstore.HealthRow) [3]string { return [3]string{h.Email, h.LearnerID, h.Direction} }
	x.do(func(st *memState) {
		for _, h := range st.health {
			if h.School == q.School && cmpKey(order(h), after) > 0 && (q.Status == "" || h.Status == q.Status) &&
				(q.Direction == "" || h.Direction == q.Direction) {
				out = append(out, h)
			}
		}
	})
	slices.SortFunc(out, func(a, b sqlstore.HealthRow) int { return cmpKey(order(a), order(b)) })
	return out[:min(q.Limit, len(out))], nil
}

func cmpKey(a, b [3]string) int {
	return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]), cmp.Compare(a[2], b[2]))
}

// The queue.

func (x *memExec) JobInsert(_ context.Context, jobs []sqlstore.JobInsertRow, now time.Time) error {
	x.do(func(st *memState) {
		for _, j := range jobs {
			if _, ok := st.served[j.School]; !ok {
				st.served[j.School] = 0
			}
			if j.Key != "" {
				if tail, ok := st.tail(j.School, j.Key); ok && tail.state == "waiting" {
					tail.Kind, tail.Payload = j.Kind, slices.Clone(j.Payload)
					tail.Priority, tail.RunAt = min(tail.Priority, j.Priority), minTime(tail.RunAt, j.RunAt)
					st.jobs[tail.ID] = tail
					continue
				}
			}
			st.jobID++
			st.seq++
			st.jobs[st.jobID] = memJob{JobRow: sqlstore.JobRow{ID: st.jobID, School: j.School, Kind: j.Kind, Key: j.Key,
				Payload: slices.Clone(j.Payload), Priority: j.Priority, RunAt: j.RunAt, EnqueuedAt: now}, state: "waiting", seq: st.seq}
		}
	})
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// tail is the newest live job of (school, key).
func (st *memState) tail(school, key string) (memJob, bool) {
	var out memJob
	found := false
	for _, j := range st.jobs {
		if j.School == school && j.Key == key && j.state != "dead" && (!found || j.seq > out.seq) {
			out, found = j, true
		}
	}
	return out, found
}

// head reports whether j is first in line for its key.
func (st *memState) head(j memJob) bool {
	if j.Key == "" {
		return true
	}
	for _, o := range st.jobs {
		if o.ID == j.ID || o.School != j.School || o.Key != j.Key || o.state == "dead" {
			continue
		}
		if o.state == "leased" || (j.state == "waiting" && o.seq < j.seq) {
			return false
		}
	}
	return true
}

func (x *memExec) JobLease(_ context.Context, p sqlstore.JobLeaseParams) (out []sqlstore.JobRow, _ error) {
	x.do(func(st *memState) {
		for id, j := range st.jobs { // takeovers that reach the maximum die instead
			if j.state == "leased" && !j.LeaseUntil.After(p.Now) && j.Attempts+1 >= p.MaxAttempts {
				j.Attempts++
				j.LastError, j.state, j.deadAt, j.LeaseToken, j.LeaseUntil = "memstore: the lease expired", "dead", p.Now, "", time.Time{}
				st.jobs[id] = j
			}
		}
		ready := func(j memJob) bool {
			return ((j.state == "waiting" && !j.RunAt.After(p.Now)) || (j.state == "leased" && !j.LeaseUntil.After(p.Now))) &&
				(len(p.Kinds) == 0 || slices.Contains(p.Kinds, j.Kind)) && st.head(j)
		}
		schools := slices.SortedFunc(maps.Keys(st.served), func(a, b string) int {
			return cmp.Or(cmp.Compare(st.served[a], st.served[b]), cmp.Compare(a, b))
		})
		busy := map[string]bool{}
		for _, j := range st.jobs {
			if j.state == "leased" && j.LeaseUntil.After(p.Now) && slices.Contains(p.BusyKeys, j.Key) {
				busy[j.School] = true
			}
		}
		for _, school := range schools {
			if slices.Contains(p.Exclude, school) || (len(p.Schools) > 0 && !slices.Contains(p.Schools, school)) || busy[school] {
				continue
			}
			var batch []memJob
			for _, j := range st.jobs {
				if j.School == school && ready(j) {
					batch = append(batch, j)
				}
			}
			if len(batch) == 0 {
				continue
			}
			slices.SortFunc(batch, func(a, b memJob) int {
				return cmp.Or(cmp.Compare(a.Priority, b.Priority), a.RunAt.Compare(b.RunAt), cmp.Compare(a.ID, b.ID))
			})
			for _, j := range batch[:min(p.Max, len(batch))] {
				if j.state == "leased" {
					j.Attempts++
					j.LastError = "memstore: the lease expired before the worker finished"
				}
				j.state, j.LeaseToken, j.LeaseUntil, j.worker = "leased", p.Token, p.Until, p.Worker
				st.jobs[j.ID] = j
				out = append(out, j.JobRow)
			}
			st.serveSeq++
			st.served[school] = st.serveSeq
			return
		}
	})
	return out, nil
}

// leased applies fn to job id when it is leased with token.
func (x *memExec) leased(id int64, token string, fn func(st *memState, j *memJob)) (ok bool) {
	x.do(func(st *memState) {
		j, found := st.jobs[id]
		if ok = found && j.state == "leased" && j.LeaseToken == token; ok {
			fn(st, &j)
			if _, still := st.jobs[id]; still {
				st.jobs[id] = j
			}
		}
	})
	return ok
}

func (j *memJob) unlease() { j.LeaseToken, j.LeaseUntil, j.worker = "", time.Time{}, "" }

func (x *memExec) JobAck(_ context.Context, id int64, token string) (bool, error) {
	return x.leased(id, token, func(st *memState, j *memJob) { delete(st.jobs, id) }), nil
}

func (x *memExec) JobRetry(_ context.Context, p sqlstore.JobRetryParams) (bool, error) {
	return x.leased(p.ID, p.Token, func(_ *memState, j *memJob) {
		j.unlease()
		j.Attempts++
		j.LastError = p.Cause
		if j.Attempts >= p.MaxAttempts {
			j.state, j.deadAt = "dead", p.Now
		} else {
			j.state, j.RunAt = "waiting", p.RunAt
		}
	}), nil
}

func (x *memExec) JobRelease(_ context.Context, id int64, token string, runAt time.Time) (bool, error) {
	return x.leased(id, token, func(_ *memState, j *memJob) { j.unlease(); j.state, j.RunAt = "waiting", runAt }), nil
}

func (x *memExec) JobAckMany(_ context.Context, leases []sqlstore.Lease) ([]bool, error) {
	return x.leasedMany(leases, func(st *memState, j *memJob) { delete(st.jobs, j.ID) }), nil
}

func (x *memExec) JobReleaseMany(_ context.Context, leases []sqlstore.Lease, runAt time.Time) ([]bool, error) {
	return x.leasedMany(leases, func(_ *memState, j *memJob) { j.unlease(); j.state, j.RunAt = "waiting", runAt }), nil
}

// leasedMany is leased for each of leases, in one change.
func (x *memExec) leasedMany(leases []sqlstore.Lease, fn func(st *memState, j *memJob)) []bool {
	out := make([]bool, len(leases))
	x.do(func(st *memState) {
		for i, l := range leases {
			j, found := st.jobs[l.ID]
			if out[i] = found && j.state == "leased" && j.LeaseToken == l.Token; out[i] {
				fn(st, &j)
				if _, still := st.jobs[l.ID]; still {
					st.jobs[l.ID] = j
				}
			}
		}
	})
	return out
}

func (x *memExec) JobKill(_ context.Context, id int64, token, cause string, now time.Time) (bool, error) {
	return x.leased(id, token, func(_ *memState, j *memJob) {
		j.unlease()
		j.Attempts++
		j.LastError, j.state, j.deadAt = cause, "dead", now
	}), nil
}

func (x *memExec) JobExtend(_ context.Context, leases []sqlstore.Lease, until time.Time) ([]bool, error) {
	out := make([]bool, len(leases))
	x.do(func(st *memState) {
		for i, l := range leases {
			if j, ok := st.jobs[l.ID]; ok && j.state == "leased" && j.LeaseToken == l.Token {
				j.LeaseUntil, out[i] = until, true
				st.jobs[l.ID] = j
			}
		}
	})
	return out, nil
}

func (x *memExec) JobHolders(_ context.Context, now time.Time) (out []string, _ error) {
	x.do(func(st *memState) {
		for _, j := range st.jobs {
			if j.state == "leased" && j.LeaseUntil.After(now) && j.worker != "" {
				out = append(out, j.worker)
			}
		}
	})
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (x *memExec) JobExpireLeases(_ context.Context, worker string, now time.Time) (n int, _ error) {
	x.do(func(st *memState) {
		for id, j := range st.jobs {
			if j.state == "leased" && j.LeaseUntil.After(now) && j.worker == worker {
				j.LeaseUntil = now
				st.jobs[id] = j
				n++
			}
		}
	})
	return n, nil
}

func (x *memExec) JobDeadLetters(_ context.Context, school string) (out []sqlstore.JobRow, _ error) {
	var dead []memJob
	x.do(func(st *memState) {
		for _, j := range st.jobs {
			if j.School == school && j.state == "dead" {
				dead = append(dead, j)
			}
		}
	})
	slices.SortFunc(dead, func(a, b memJob) int { return cmp.Or(a.deadAt.Compare(b.deadAt), cmp.Compare(a.ID, b.ID)) })
	for _, j := range dead {
		out = append(out, j.JobRow)
	}
	return out, nil
}

func (x *memExec) JobReplay(_ context.Context, id int64, now time.Time) (ok bool, _ error) {
	x.do(func(st *memState) {
		j, found := st.jobs[id]
		if ok = found && j.state == "dead"; ok {
			st.seq++
			j.state, j.Attempts, j.LastError, j.RunAt, j.seq, j.deadAt = "waiting", 0, "", now, st.seq, time.Time{}
			st.jobs[id] = j
		}
	})
	return ok, nil
}

func (x *memExec) JobDiscard(_ context.Context, id int64) (ok bool, _ error) {
	x.do(func(st *memState) {
		if j, found := st.jobs[id]; found && j.state == "dead" {
			delete(st.jobs, id)
			ok = true
		}
	})
	return ok, nil
}

func (x *memExec) JobStatsByKind(_ context.Context, school string, now time.Time) (map[string]hubsync.QueueStats, error) {
	out := map[string]hubsync.QueueStats{}
	x.do(func(st *memState) {
		for _, j := range st.jobs {
			if j.School != school {
				continue
			}
			c := out[j.Kind]
			switch {
			case j.state == "dead":
				c.Dead++
			case j.state == "leased" && j.LeaseUntil.After(now):
				c.Leased++
			case j.state == "waiting" && j.RunAt.After(now):
				c.Scheduled++
			default:
				c.Ready++
			}
			out[j.Kind] = c
		}
	})
	return out, nil
}

func (x *memExec) JobStats(ctx context.Context, school string, now time.Time) (hubsync.QueueStats, error) {
	by, _ := x.JobStatsByKind(ctx, school, now)
	var out hubsync.QueueStats
	for _, c := range by {
		out.Ready, out.Scheduled, out.Leased, out.Dead = out.Ready+c.Ready, out.Scheduled+c.Scheduled, out.Leased+c.Leased, out.Dead+c.Dead
	}
	return out, nil
}

func (x *memExec) JobNextRunAt(_ context.Context, _ time.Time) (t time.Time, ok bool, _ error) {
	x.do(func(st *memState) {
		for _, j := range st.jobs {
			if j.state == "waiting" && (!ok || j.RunAt.Before(t)) {
				t, ok = j.RunAt, true
			}
		}
	})
	return t, ok, nil
}
