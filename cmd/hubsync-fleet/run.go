package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/internal/procid"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
	"github.com/hubsync/hubsync/store/pgstore"
)

// fleet is the parent's state while a run goes.
type fleet struct {
	o        options
	queued   map[string]bool // "school|email" of contact jobs left in the queue at the end
	portals  []*hubspottest.Server
	lms      []*learnworldstest.Server
	ids      []hubsync.SchoolID
	byPrefix map[string]int

	mu       sync.Mutex
	reqs     [][]reqMark              // per portal: every API request, when and from which child
	expected []map[string]string      // per school: email -> the country it must end with
	pending  map[string]pendingChange // school|email -> the live change not landed yet
	lats     []time.Duration          // live-change latencies
	writes   int                      // contact writes that landed
	noops    int                      // writes that changed nothing (values sent again)
	killedAt time.Time
	// held is each school whose jobs the killed child held when it died, with when the last of
	// them was taken back (zero until then).
	held      map[string]time.Time
	reclaimed time.Time // when no job was leased by the killed child unexpired any more
	heldErr   error
	landed    map[string]time.Time // school|email|value -> when a live value first landed
}

type reqMark struct {
	at     time.Time
	child  string
	status int
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

type pendingChange struct {
	value string
	sent  time.Time
}

func email(i int) string { return "learner" + strconv.Itoa(i) + "@example.com" }

// front serves every portal at one URL, routing each request by its token's prefix (from the
// Authorization header, a form's refresh_token or code, or the last path segment, as the OAuth
// introspection routes carry it).
func (f *fleet) front(w http.ResponseWriter, r *http.Request) {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok == "" && r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/oauth") {
		_ = r.ParseForm()
		tok = r.PostForm.Get("refresh_token")
		for _, k := range []string{"code", "token"} {
			if tok == "" {
				tok = r.PostForm.Get(k)
			}
		}
	}
	if tok == "" {
		tok = path.Base(r.URL.Path)
	}
	p, _ := hubspottest.TokenPrefix(tok)
	i, ok := f.byPrefix[p]
	if !ok {
		http.Error(w, "fleet front: no portal for this token", http.StatusUnauthorized)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/oauth") {
		f.portals[i].Handler().ServeHTTP(w, r)
		return
	}
	at, sw := time.Now(), &statusWriter{ResponseWriter: w}
	f.portals[i].Handler().ServeHTTP(sw, r)
	f.mu.Lock()
	f.reqs[i] = append(f.reqs[i], reqMark{at: at, child: r.Header.Get(childHeader), status: cmp.Or(sw.status, http.StatusOK)})
	f.mu.Unlock()
}

// onWrite is every portal's contact write hook: it times live changes and counts writes that
// changed nothing. It runs under the portal's lock, so it only takes the fleet's.
func (f *fleet) onWrite(school int) func(hubspottest.ContactWrite) {
	return func(cw hubspottest.ContactWrite) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.writes++
		if len(cw.Changed) == 0 {
			f.noops++
		}
		key := strconv.Itoa(school) + "|" + cw.Email
		if v := cw.Props["country"]; strings.HasPrefix(v, "L") {
			if _, ok := f.landed[key+"|"+v]; !ok {
				f.landed[key+"|"+v] = time.Now()
			}
		}
		if pc, ok := f.pending[key]; ok && cw.Props["country"] == pc.value {
			f.lats = append(f.lats, time.Since(pc.sent))
			delete(f.pending, key)
		}
	}
}

func run(ctx context.Context, o options, logw io.Writer) (*report, error) {
	if o.seed == 0 {
		o.seed = time.Now().UnixNano()
	}
	rng := rand.New(rand.NewPCG(uint64(o.seed), 0))
	rep := &report{K: o.k, Schools: o.schools, Learners: o.learners, HSRequests: o.hsRequests, HSWindow: o.hsWindow.String(),
		LWRequests: o.lwRequests, Seed: o.seed, LoadStart: loadavg()}
	f := &fleet{o: o, byPrefix: map[string]int{}, reqs: make([][]reqMark, o.schools), pending: map[string]pendingChange{}, landed: map[string]time.Time{}}

	// The fakes: one portal and one LearnWorlds per school.
	for i := range o.schools {
		prefix := "p" + strconv.Itoa(i)
		f.portals = append(f.portals, hubspottest.NewServer(hubspottest.WithTokenPrefix(prefix),
			hubspottest.WithPortal(int64(1000+i), prefix+".example"), hubspottest.WithRateLimit(o.hsRequests, o.hsWindow),
			hubspottest.WithContactWriteHook(f.onWrite(i))))
		f.byPrefix[prefix] = i
		lw := learnworldstest.NewServer(learnworldstest.WithRateLimit(o.lwRequests, o.hsWindow))
		if err := lw.Seed(o.learners, func(j int, u *learnworldstest.User) { u.Fields = map[string]any{"country": "GR"} }); err != nil {
			return nil, err
		}
		f.lms = append(f.lms, lw)
		f.ids = append(f.ids, hubsync.SchoolID(fmt.Sprintf("school-%03d", i)))
		exp := make(map[string]string, o.learners)
		for j := range o.learners {
			exp[email(j)] = "GR"
		}
		f.expected = append(f.expected, exp)
	}
	defer func() {
		for i := range f.portals {
			f.portals[i].Close()
			f.lms[i].Close()
		}
	}()
	front := httptest.NewServer(http.HandlerFunc(f.front))
	defer front.Close()

	// The store: a fresh schema, migrated here once.
	schema := fmt.Sprintf("hubsync_fleet_%012x", rand.Uint64()&(1<<48-1))
	store, err := pgstore.Open(ctx, o.db, pgstore.WithSchema(schema), pgstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, err
	}
	defer store.Close()
	if !o.keep {
		defer dropSchema(o.db, schema)
	}
	dir, err := os.MkdirTemp("", "hubsync-fleet-")
	if err != nil {
		return nil, err
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	} else {
		fmt.Fprintln(logw, "work directory:", dir, "schema:", schema)
	}
	cfg := childConfig{DB: o.db, Schema: schema, HubSpotURL: front.URL, ClientID: hubspottest.DefaultClientID,
		ClientSecret: hubspottest.DefaultClientSecret, HSRequests: o.hsRequests, LWRequests: o.lwRequests, Window: o.hsWindow,
		Workers: o.workers, BackfillWorkers: o.backfill}
	for i, lw := range f.lms {
		cfg.Schools = append(cfg.Schools, childSchool{ID: f.ids[i], LWURL: lw.URL, LWID: lw.ClientID, LWSecret: lw.ClientSecret})
	}
	learners, err := learnersFor(cfg)
	if err != nil {
		return nil, err
	}
	// The parent's engine connects the schools, saves their settings, starts the backfills and
	// announces live changes; it never runs workers.
	eng, err := hubsync.New(engineConfig(cfg, store, learners, "parent", logw, slog.LevelWarn))
	if err != nil {
		return nil, err
	}
	setupStart := time.Now()
	for i, id := range f.ids {
		_, refresh := f.portals[i].MintToken()
		if _, err := eng.ConnectWithRefreshToken(ctx, id, refresh); err != nil {
			return nil, fmt.Errorf("connecting %s: %w", id, err)
		}
		if _, err := eng.SaveSettings(ctx, id, hubsync.Settings{Mode: hubsync.ModeToHubSpot, Mappings: []hubsync.Mapping{
			{LMSField: "email", HubSpotProperty: "email"},
			{LMSField: "country", HubSpotProperty: "country"},
		}}); err != nil {
			return nil, fmt.Errorf("settings of %s: %w", id, err)
		}
	}
	fmt.Fprintf(logw, "%d schools connected in %v\n", o.schools, time.Since(setupStart).Round(time.Millisecond))
	cfgPath := filepath.Join(dir, "child.json")
	cb, _ := json.Marshal(cfg)
	if err := os.WriteFile(cfgPath, cb, 0o600); err != nil {
		return nil, err
	}

	// The children.
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	pg := &pgSampler{db: dbName(o.db)}
	pg.sample()
	pgCtx, stopPG := context.WithCancel(ctx)
	defer stopPG()
	go func() {
		for {
			select {
			case <-pgCtx.Done():
				return
			case <-time.After(time.Second):
				pg.sample()
			}
		}
	}()
	children := make([]*exec.Cmd, o.k)
	exited := make([]chan struct{}, o.k)
	for c := range o.k {
		logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("child-%d.log", c)))
		if err != nil {
			return nil, err
		}
		defer logf.Close()
		cmd := exec.Command(self, "-child", cfgPath, "-child-index", strconv.Itoa(c))
		cmd.Stderr = logf
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		children[c], exited[c] = cmd, make(chan struct{})
		if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
			return nil, fmt.Errorf("child %d did not start (see its log)", c)
		}
		go func() { _ = cmd.Wait(); close(exited[c]) }()
	}
	stopped := false
	stopChildren := func() {
		if stopped {
			return
		}
		stopped = true
		for c, cmd := range children {
			select {
			case <-exited[c]:
				continue
			default:
			}
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case <-exited[c]:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-exited[c]
			}
		}
	}
	defer stopChildren()

	// The backfills, then live changes until they are all done.
	start := time.Now()
	for _, id := range f.ids {
		if _, err := eng.StartManualSync(ctx, id, hubsync.DirectionToHubSpot); err != nil {
			return nil, fmt.Errorf("starting the backfill of %s: %w", id, err)
		}
	}
	deadline := start.Add(o.duration)
	liveCtx, stopLive := context.WithCancel(ctx)
	defer stopLive()
	liveDone := make(chan struct{})
	var liveErr error
	go func() {
		defer close(liveDone)
		liveErr = f.live(liveCtx, eng, learners, rng)
	}()
	done := make([]time.Time, o.schools)
	left := o.schools
	killed := false
	for left > 0 && time.Now().Before(deadline) {
		if !killed && o.killAfter > 0 && time.Since(start) >= o.killAfter && o.k > 1 {
			killed = true
			f.mu.Lock()
			f.killedAt = time.Now()
			f.mu.Unlock()
			holder := procid.Of(children[0].Process.Pid)
			_ = children[0].Process.Signal(syscall.SIGKILL)
			<-exited[0]
			fmt.Fprintf(logw, "child 0 killed at %v\n", time.Since(start).Round(time.Millisecond))
			go f.watchLeases(ctx, o.db, schema, holder, rep)
		}
		for i, id := range f.ids {
			if !done[i].IsZero() {
				continue
			}
			p, err := eng.ManualSync(ctx, id)
			if err != nil {
				return nil, err
			}
			if p.State != hubsync.ManualRunning {
				if p.State != hubsync.ManualDone {
					rep.Failures = append(rep.Failures, fmt.Sprintf("%s: backfill %s: %s", id, p.State, p.Error))
				}
				done[i] = time.Now()
				left--
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	stopLive()
	<-liveDone
	if liveErr != nil {
		rep.Failures = append(rep.Failures, "live changes: "+liveErr.Error())
	}
	backfillEnd := time.Now()
	if left > 0 {
		rep.Failures = append(rep.Failures, fmt.Sprintf("%d backfills not done after %v", left, o.duration))
	}
	// Let the last live changes land (bounded by what is left of -duration, at least 30 s).
	for wait := max(time.Until(deadline), 30*time.Second); wait > 0; wait -= 200 * time.Millisecond {
		f.mu.Lock()
		n := len(f.pending)
		f.mu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	end := time.Now()
	pg.sample()
	stopChildren()
	stopPG()
	for _, cmd := range children {
		if st := cmd.ProcessState; st != nil {
			rep.ChildCPU += st.UserTime() + st.SystemTime()
		}
	}
	rep.PostgresCPU = pg.cpu()
	if f.queued, err = queuedContacts(ctx, o.db, schema); err != nil {
		rep.Failures = append(rep.Failures, "reading the queue at the end: "+err.Error())
	}
	f.judge(rep, start, backfillEnd, end, done)
	rep.LoadEnd = loadavg()
	return rep, nil
}

// live makes one live change every -live-every on a random school: the learner's country changes
// in LearnWorlds (through its API), then LearnerChanged announces it, as the school's webhook
// would. It remembers the value every learner must end with.
func (f *fleet) live(ctx context.Context, eng *hubsync.Engine, learners *learnworlds.Learners, rng *rand.Rand) error {
	t := time.NewTicker(f.o.liveEvery)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		i, j := rng.IntN(f.o.schools), rng.IntN(f.o.learners)
		id, e, val := f.ids[i], email(j), "L"+strconv.Itoa(n)
		u, ok := f.lms[i].User(e)
		if !ok {
			return fmt.Errorf("learner %d of %s is missing in its LearnWorlds", j, id)
		}
		l, err := learners.Update(ctx, id, u.ID, map[string]any{"country": val})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("changing a learner of %s: %w", id, err)
		}
		f.mu.Lock()
		f.expected[i][e] = val
		f.pending[strconv.Itoa(i)+"|"+strings.ToLower(e)] = pendingChange{value: val, sent: time.Now()}
		f.mu.Unlock()
		if err := eng.LearnerChanged(ctx, id, l); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("announcing a change of %s: %w", id, err)
		}
	}
}

// watchLeases finds the schools whose jobs the killed child (holder) had leased, then polls
// until none is leased by it any more: that is when its schools' work moved on.
func (f *fleet) watchLeases(ctx context.Context, url, schema, holder string, rep *report) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		f.mu.Lock()
		f.heldErr = err
		f.mu.Unlock()
		return
	}
	defer conn.Close(context.Background())
	q := "SELECT school, bool_or(lease_until > now()) FROM " + pgx.Identifier{schema, "jobs"}.Sanitize() + " WHERE state = 'leased' AND leased_by LIKE $1 GROUP BY school"
	like := strings.ReplaceAll(strings.ReplaceAll(holder, "%", "\\%"), "_", "\\_") + "#%"
	// list maps each school with jobs still leased by the dead child to whether one of those
	// leases is unexpired (an expired or reclaimed lease keeps its holder until a worker takes
	// the job over).
	list := func() (map[string]bool, error) {
		rows, err := conn.Query(ctx, q, like)
		if err != nil {
			return nil, err
		}
		out := map[string]bool{}
		for rows.Next() {
			var sc string
			var live bool
			if err := rows.Scan(&sc, &live); err != nil {
				return nil, err
			}
			out[sc] = live
		}
		return out, rows.Err()
	}
	first, err := list()
	f.mu.Lock()
	f.held, f.heldErr = map[string]time.Time{}, err
	for sc := range first {
		f.held[sc] = time.Time{}
	}
	f.mu.Unlock()
	for len(first) > 0 && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		now, err := list()
		if err != nil {
			if ctx.Err() == nil {
				f.mu.Lock()
				f.heldErr = err
				f.mu.Unlock()
			}
			return
		}
		f.mu.Lock()
		live := false
		for sc := range first {
			l, still := now[sc]
			if !still {
				f.held[sc] = time.Now()
				delete(first, sc)
			}
			live = live || l
		}
		if !live && f.reclaimed.IsZero() {
			f.reclaimed = time.Now()
		}
		f.mu.Unlock()
	}
}

// queuedContacts returns the "school|key" of every contact job left in the queue, not dead: the
// learners whose change is late, not lost (a dead job is lost: it runs no more without an
// operator).
func queuedContacts(ctx context.Context, url, schema string) (map[string]bool, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, "SELECT school, key FROM "+pgx.Identifier{schema, "jobs"}.Sanitize()+" WHERE state <> 'dead' AND kind = 'contact'")
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for rows.Next() {
		var school, key string
		if err := rows.Scan(&school, &key); err != nil {
			return nil, err
		}
		out[school+"|"+strings.ToLower(strings.TrimPrefix(key, "contact|"))] = true // the engine's contact job key
	}
	return out, rows.Err()
}

// dropSchema drops the run's schema.
func dropSchema(url, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
}

// loadavg is /proc/loadavg's first three fields ("" where there is none).
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// pgSampler follows the CPU of every process of this machine named postgres (from
// /proc/<pid>/stat; other databases' backends included): backends end with their connections, so
// it samples every second and keeps each one's last figure.
type pgSampler struct {
	mu          sync.Mutex
	first, last map[int]int64 // pid -> user+system ticks
	ok          bool
	db          string // only the backends of this database ("": every postgres process)
}

// dbName is the database a postgres:// URL names ("" when it names none).
func dbName(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.IndexByte(u, '/'); j >= 0 {
			u = u[j+1:]
			if k := strings.IndexAny(u, "?#"); k >= 0 {
				u = u[:k]
			}
			return u
		}
	}
	return ""
}

func (p *pgSampler) sample() {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.first == nil {
		p.first, p.last = map[int]int64{}, map[int]int64{}
		defer func() { // processes seen at the first sample count from there
			for pid, t := range p.last {
				p.first[pid] = t
			}
		}()
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		open, closeAt := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closeAt < open || s[open+1:closeAt] != "postgres" {
			continue
		}
		f := strings.Fields(s[closeAt+1:])
		if len(f) < 13 {
			continue
		}
		if p.db != "" { // a backend's title: "postgres: [cluster: ]user database host(port) state"
			title, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if t := strings.Fields(strings.ReplaceAll(string(title), "\x00", " ")); len(t) < 3 || t[0] != "postgres:" || !slices.Contains(t[1:min(len(t), 5)], p.db) {
				continue
			}
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		p.last[pid] = u + st
		p.ok = true
	}
}

// cpu is the postgres processes' CPU between the first and the last sample, or -1.
func (p *pgSampler) cpu() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.ok {
		return -1
	}
	var ticks int64
	for pid, t := range p.last {
		ticks += t - p.first[pid]
	}
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ is 100 on Linux
}
