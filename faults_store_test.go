package hubsync_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/store/pgstore"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

// The engine on the real stores when the store refuses a write (issue 13, item 10): busy past
// its timeout, a full disk, and a write refused between two steps of one operation (a trigger that
// RAISEs on one table). Each time: nothing lost, nothing applied twice, a clear log line.

// faultStore is a real store the test can make refuse writes to one table.
type faultStore struct {
	storeQueue
	kind string
	path string // SQLite: the file
	// exec runs SQL on a connection of its own (another process's, as far as the store knows).
	exec func(t *testing.T, sql string)
	// table maps the SQLite table names to this store's.
	table func(string) string
}

// openFaultStore opens a SQLite store on a file in dir ("" for a temporary one), or a PostgreSQL
// store on a schema of its own (skipped without TEST_DATABASE_URL), on clk.
func openFaultStore(t *testing.T, kind, dir string, clk clock.Clock, opts ...sqlitestore.Option) *faultStore {
	t.Helper()
	ctx := t.Context()
	switch kind {
	case "sqlite":
		if dir == "" {
			dir = t.TempDir()
		}
		path := filepath.Join(dir, "hubsync.db")
		s, err := sqlitestore.Open(ctx, path, append([]sqlitestore.Option{sqlitestore.WithClock(clk), sqlitestore.WithSynchronous(sqlitestore.SyncNormal)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		db, err := sql.Open("sqlite", path+"?_busy_timeout=5000")
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		t.Cleanup(func() { db.Close() })
		return &faultStore{storeQueue: s, kind: kind, path: path, table: func(n string) string { return n },
			exec: func(t *testing.T, q string) {
				t.Helper()
				if _, err := db.ExecContext(context.Background(), q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}}
	case "postgres":
		url := os.Getenv("TEST_DATABASE_URL")
		if url == "" {
			t.Skip("TEST_DATABASE_URL is not set: the PostgreSQL case needs a database (CI's .ci/postgres.sh starts one and sets it)")
		}
		var b [6]byte
		_, _ = rand.Read(b[:])
		schema := "hubsync_faults_" + hex.EncodeToString(b[:])
		s, err := pgstore.Open(ctx, url, pgstore.WithClock(clk), pgstore.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			s.Close()
			ctx := context.Background()
			if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
				t.Logf("dropping test schema %s: %v", schema, err)
			}
			conn.Close(ctx)
		})
		names := map[string]string{"sync_states": "sync_state"}
		return &faultStore{storeQueue: s, kind: kind, table: func(n string) string {
			if m, ok := names[n]; ok {
				n = m
			}
			return schema + "." + n
		}, exec: func(t *testing.T, q string) {
			t.Helper()
			if _, err := conn.Exec(context.Background(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}}
	}
	t.Fatalf("unknown store kind %q", kind)
	return nil
}

// refuse makes the store refuse every op ("INSERT", "UPDATE", "DELETE") on table until the
// returned function is called; the refusal names the table.
func (f *faultStore) refuse(t *testing.T, table string, ops ...string) (allow func()) {
	t.Helper()
	name := "refuse_" + table
	tbl := f.table(table)
	switch f.kind {
	case "sqlite":
		for _, op := range ops {
			f.exec(t, fmt.Sprintf("CREATE TRIGGER %s_%s BEFORE %s ON %s BEGIN SELECT RAISE(ABORT, 'injected fault: %s refuses %s'); END", name, op, op, tbl, table, op))
		}
		return func() {
			for _, op := range ops {
				f.exec(t, fmt.Sprintf("DROP TRIGGER %s_%s", name, op))
			}
		}
	default:
		fn := strings.TrimSuffix(tbl, table) + "refuse_write"
		f.exec(t, "CREATE OR REPLACE FUNCTION "+fn+"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected fault: % refuses %', TG_TABLE_NAME, TG_OP; END $$")
		f.exec(t, fmt.Sprintf("CREATE TRIGGER %s BEFORE %s ON %s FOR EACH ROW EXECUTE FUNCTION %s()", name, strings.Join(ops, " OR "), tbl, fn))
		return func() { f.exec(t, fmt.Sprintf("DROP TRIGGER %s ON %s", name, tbl)) }
	}
}

// onRealStores runs fn on SQLite and PostgreSQL.
func onRealStores(t *testing.T, fn func(t *testing.T, kind string)) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			fn(t, kind)
		})
	}
}

// TestFaultStoreRefusesSyncStateAfterTheUpsert: the batch upsert lands in HubSpot, then the store
// refuses the sync states that record it. The batch fails and is retried (logged); once the store
// takes writes again the retry upserts the same contacts (no duplicate) and records them.
func TestFaultStoreRefusesSyncStateAfterTheUpsert(t *testing.T) {
	t.Parallel()
	onRealStores(t, func(t *testing.T, kind string) {
		var fs *faultStore
		r := newFaultRig(t, rigOptions{store: func(h *harness) storeQueue { fs = openFaultStore(t, kind, "", h.clk); return fs }})
		r.connect()
		r.settings(hubsync.Settings{Mappings: basicMapping})
		allow := fs.refuse(t, "sync_states", "INSERT", "UPDATE")
		r.changeAll()
		if _, err := r.eng.RunOnce(r.ctx); err != nil {
			t.Fatal(err)
		}
		if !r.landed() {
			t.Fatal("the upsert did not land before the store refused its record")
		}
		r.logs.mustHave(t, "level=WARN", "batch failed; its jobs are retried", "injected fault: sync_state")
		allow()
		r.runUntil("recorded", r.landed)
		r.oneContactEach(t)
		r.settled(t)
		r.logs.clean(t, r.secrets()...)
	})
}

// TestFaultStoreRefusesTheSyncLogWithTheStates: a batch writes its sync states and its sync log
// in one transaction (swapWithLog); the store refuses the log. The states are stored all the
// same (the batch succeeds, not retried, and the same change again costs no request), the log
// is tried once more and its failure logged; once the store takes the log again, it gets the
// entries of the next batch.
func TestFaultStoreRefusesTheSyncLogWithTheStates(t *testing.T) {
	t.Parallel()
	onRealStores(t, func(t *testing.T, kind string) {
		var fs *faultStore
		// The engine gets the store itself, not the wrapper, which hides its transactions.
		r := newFaultRig(t, rigOptions{store: func(h *harness) storeQueue { fs = openFaultStore(t, kind, "", h.clk); return fs.storeQueue }})
		if _, ok := r.store.(hubsync.SyncStateSwapper); !ok {
			t.Fatal("the store does not swap sync states")
		}
		r.connect()
		r.settings(hubsync.Settings{Mappings: basicMapping})
		allow := fs.refuse(t, "sync_log", "INSERT")
		r.changeAll()
		if _, err := r.eng.RunOnce(r.ctx); err != nil {
			t.Fatal(err)
		}
		if !r.landed() {
			t.Fatal("the upsert did not land")
		}
		r.logs.mustHave(t, "level=ERROR", "could not write the sync log", "injected fault: sync_log")
		if lines := r.logs.lines("batch failed"); len(lines) != 0 {
			t.Fatalf("the batch failed for its sync log's sake: %q", lines)
		}
		allow()
		r.oneContactEach(t)
		log, err := r.store.ListSyncLog(r.ctx, school, hubsync.LogFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(log) != len(faultEmails) {
			t.Errorf("%d sync log entries, want the %d of the second batch: %+v", len(log), len(faultEmails), log)
		}
		for _, en := range log {
			if en.Outcome != hubsync.OutcomeUnchanged {
				t.Errorf("%s: outcome %s, want unchanged", hubsync.MaskEmail(en.Email), en.Outcome)
			}
		}
		r.settled(t)
		r.logs.clean(t, r.secrets()...)
	})
}

// TestFaultStoreRefusesTheStatesWithTheSyncLog: the store (its transactions seen by the engine)
// refuses the sync states of a batch whose log goes in the same transaction: neither is stored,
// the batch fails and is retried, and the log is still written on its own (writeLog), so the
// upsert that landed is logged; once the store takes the states again, the retry records them.
func TestFaultStoreRefusesTheStatesWithTheSyncLog(t *testing.T) {
	t.Parallel()
	onRealStores(t, func(t *testing.T, kind string) {
		var fs *faultStore
		r := newFaultRig(t, rigOptions{store: func(h *harness) storeQueue { fs = openFaultStore(t, kind, "", h.clk); return fs.storeQueue }})
		r.connect()
		r.settings(hubsync.Settings{Mappings: basicMapping})
		allow := fs.refuse(t, "sync_states", "INSERT", "UPDATE")
		r.changeAll()
		if _, err := r.eng.RunOnce(r.ctx); err != nil {
			t.Fatal(err)
		}
		if !r.landed() {
			t.Fatal("the upsert did not land before the store refused its record")
		}
		r.logs.mustHave(t, "level=WARN", "batch failed; its jobs are retried", "injected fault: sync_state")
		log, err := r.store.ListSyncLog(r.ctx, school, hubsync.LogFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(log) != len(faultEmails) {
			t.Fatalf("%d sync log entries after the refused states, want %d: %+v", len(log), len(faultEmails), log)
		}
		allow()
		r.runUntil("recorded", r.landed)
		r.oneContactEach(t)
		r.settled(t)
		r.logs.clean(t, r.secrets()...)
	})
}

// TestFaultStoreRefusesTheOnceLedger: the store refuses the once-event ledger: the sign-up is
// not sent (it could not be claimed), the batch is retried, and once the store takes writes again
// the sign-up lands once; a second report of it is not sent.
func TestFaultStoreRefusesTheOnceLedger(t *testing.T) {
	t.Parallel()
	onRealStores(t, func(t *testing.T, kind string) {
		var fs *faultStore
		r := newFaultRig(t, rigOptions{store: func(h *harness) storeQueue { fs = openFaultStore(t, kind, "", h.clk); return fs }})
		r.connect()
		r.settings(hubsync.Settings{Mappings: basicMapping})
		allow := fs.refuse(t, "once_claims", "INSERT", "UPDATE")
		at := r.clk.Now()
		r.record(hubsync.Activity{Kind: hubsync.EventSignedUp, Email: "ann@school.example", SourceID: "su-1", At: at})
		if _, err := r.eng.RunOnce(r.ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(r.events(hubsync.EventSignedUp)); n != 0 {
			t.Fatalf("%d sign-ups sent without a ledger entry", n)
		}
		r.logs.mustHave(t, "level=WARN", "batch failed; its jobs are retried", "injected fault: once_claims")
		allow()
		r.runUntil("sent", func() bool { return r.events(hubsync.EventSignedUp)["ann@school.example"] == 1 })
		r.record(hubsync.Activity{Kind: hubsync.EventSignedUp, Email: "ann@school.example", SourceID: "su-2", At: at.Add(time.Second)})
		r.runUntil("settled", func() bool { return true })
		if n := r.events(hubsync.EventSignedUp)["ann@school.example"]; n != 1 {
			t.Errorf("%d sign-up events, want 1", n)
		}
		r.settled(t)
		r.logs.clean(t, r.secrets()...)
	})
}

// TestFaultStoreRefusesTheAckAfterTheSend: timeline events are sent, then the store refuses to
// acknowledge their jobs (and to write the sync log). The jobs stay leased, are taken again once
// the lease runs out, and are sent again: HubSpot has them already (same occurrence ids), so each
// event, the once-only sign-up included, is on the timeline once.
func TestFaultStoreRefusesTheAckAfterTheSend(t *testing.T) {
	t.Parallel()
	onRealStores(t, func(t *testing.T, kind string) {
		var fs *faultStore
		r := newFaultRig(t, rigOptions{store: func(h *harness) storeQueue { fs = openFaultStore(t, kind, "", h.clk); return fs }})
		r.connect()
		r.settings(hubsync.Settings{Mappings: basicMapping})
		r.change(hubsync.Learner{Email: "ann@school.example", Values: map[string]any{"country": "FR"}})
		r.run()
		allowJobs := fs.refuse(t, "jobs", "DELETE")
		allowLog := fs.refuse(t, "sync_log", "INSERT")
		at := r.clk.Now()
		r.record(hubsync.Activity{Kind: hubsync.EventSignedUp, Email: "ann@school.example", SourceID: "su-1", At: at})
		r.record(hubsync.Activity{Kind: hubsync.EventEnrolled, Email: "ann@school.example", SubjectID: "c1", SourceID: "en-1", At: at})
		if _, err := r.eng.RunOnce(r.ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(r.hs.TimelineEvents()); n != 2 {
			t.Fatalf("%d events sent, want 2", n)
		}
		r.logs.mustHave(t, "level=ERROR", "could not finish job", "action=ack", "injected fault: jobs")
		r.logs.mustHave(t, "level=ERROR", "could not write the sync log", "injected fault: sync_log")
		allowJobs()
		allowLog()
		r.runUntil("acknowledged", func() bool { return true })
		for _, kind := range []hubsync.EventKind{hubsync.EventSignedUp, hubsync.EventEnrolled} {
			if n := r.events(kind)["ann@school.example"]; n != 1 {
				t.Errorf("%d %s events, want 1", n, kind)
			}
		}
		r.settled(t)
		r.logs.clean(t, r.secrets()...)
	})
}

// TestFaultStoreRefusesTheWebhookJob: the store refuses the job of a HubSpot webhook event: the
// intake answers 500 (HubSpot delivers again), and the event is not marked seen, since the mark
// and the job are one transaction. The redelivery is queued and applied once.
func TestFaultStoreRefusesTheWebhookJob(t *testing.T) {
	t.Parallel()
	onRealStores(t, func(t *testing.T, kind string) {
		var fs *faultStore
		r := newFaultRig(t, rigOptions{store: func(h *harness) storeQueue { fs = openFaultStore(t, kind, "", h.clk); return fs }})
		r.connect()
		r.withWebhooks()
		r.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping})
		r.lms.Put(school, hubsync.Learner{Email: "ann@school.example", Values: map[string]any{"country": "GR"}})
		allow := fs.refuse(t, "jobs", "INSERT", "UPDATE")
		r.admin("ann@school.example", map[string]string{"country": "FR"})
		if err := r.hs.FlushWebhooks(r.ctx); err == nil || !strings.Contains(err.Error(), "HTTP 500") {
			t.Fatalf("delivery while the store refuses jobs: %v, want HTTP 500", err)
		}
		r.logs.mustHave(t, "level=ERROR", "could not queue HubSpot webhook events", "injected fault: jobs")
		allow()
		r.flush()
		r.runUntil("applied", func() bool {
			l, _ := r.lms.Get(school, "ann@school.example")
			return l.Values["country"] == "FR"
		})
		if n := r.lms.Stats().Updates; n != 1 {
			t.Errorf("%d LMS updates, want 1", n)
		}
		r.settled(t)
		r.logs.clean(t, r.secrets()...)
	})
}

// TestFaultStoreRefusesTheManualCheckpoint: a manual sync's page is sent, then the store refuses
// its checkpoint (written with the next page's job in one transaction). The page is done again
// once the store takes writes: every learner lands once, and the counts add up to the learners.
func TestFaultStoreRefusesTheManualCheckpoint(t *testing.T) {
	t.Parallel()
	onRealStores(t, func(t *testing.T, kind string) {
		var fs *faultStore
		r := newFaultRig(t, rigOptions{store: func(h *harness) storeQueue { fs = openFaultStore(t, kind, "", h.clk); return fs }})
		r.connect()
		r.settings(hubsync.Settings{Mappings: basicMapping})
		seedLearners(r.harness, 250, "GR")
		if _, err := r.eng.StartManualSync(r.ctx, school, hubsync.DirectionToHubSpot); err != nil {
			t.Fatal(err)
		}
		allow := fs.refuse(t, "checkpoints", "INSERT", "UPDATE")
		if _, err := r.eng.RunOnce(r.ctx); err != nil {
			t.Fatal(err)
		}
		if len(r.hs.Contacts()) == 0 {
			t.Fatal("the first page was not sent before its checkpoint was refused")
		}
		r.logs.mustHave(t, "level=WARN", "injected fault: checkpoints")
		allow()
		var p hubsync.ManualProgress
		r.runUntil("done", func() bool {
			var err error
			p, err = r.eng.ManualSync(r.ctx, school)
			return err == nil && p.State == hubsync.ManualDone
		})
		if p.Done != 250 || p.Created+p.Updated+p.Unchanged != 250 || p.Failed != 0 {
			t.Errorf("progress = %+v, want 250 done, each once", p)
		}
		if n := len(r.hs.Contacts()); n != 250 {
			t.Errorf("%d contacts, want 250", n)
		}
		r.settled(t)
		r.logs.clean(t, r.secrets()...)
	})
}

// TestFaultStoreBusy: another connection holds the SQLite file's write lock past the store's
// busy timeout. A HubSpot webhook delivery is answered 500 (HubSpot delivers again), a host's
// LearnerChanged gets an error wrapping sqlitestore.ErrBusy, and a worker's dequeue fails; all
// three are logged or returned, and nothing is lost: once the lock is let go, the redelivery and
// the host's retry are applied, once each.
func TestFaultStoreBusy(t *testing.T) {
	t.Parallel()
	var fs *faultStore
	r := newFaultRig(t, rigOptions{store: func(h *harness) storeQueue {
		fs = openFaultStore(t, "sqlite", "", h.clk, sqlitestore.WithBusyTimeout(100*time.Millisecond))
		return fs
	}})
	r.connect()
	r.withWebhooks()
	r.settings(hubsync.Settings{Mode: hubsync.ModeTwoWay, Mappings: inboundMapping})
	r.lms.Put(school, hubsync.Learner{Email: "ann@school.example", Values: map[string]any{"country": "GR"}})
	lock := holdWriteLock(t, fs.path)

	r.admin("ann@school.example", map[string]string{"country": "FR"})
	if err := r.hs.FlushWebhooks(r.ctx); err == nil || !strings.Contains(err.Error(), "HTTP 500") {
		t.Fatalf("delivery while the store is busy: %v, want HTTP 500", err)
	}
	r.logs.mustHave(t, "level=ERROR", "could not queue HubSpot webhook events", "database is locked")
	bob := hubsync.Learner{Email: "bob@school.example", Values: map[string]any{"country": "NL"}}
	if err := r.eng.LearnerChanged(r.ctx, school, bob); !errors.Is(err, sqlitestore.ErrBusy) || !errors.Is(err, hubsync.ErrUnavailable) {
		t.Fatalf("LearnerChanged while the store is busy: %v, want ErrBusy, matching hubsync.ErrUnavailable", err)
	}
	if _, err := r.eng.RunOnce(r.ctx); !errors.Is(err, sqlitestore.ErrBusy) {
		t.Fatalf("RunOnce while the store is busy: %v, want ErrBusy", err)
	}

	lock()
	r.flush()
	r.change(bob) // the host tries again
	r.runUntil("applied", func() bool {
		l, _ := r.lms.Get(school, "ann@school.example")
		return l.Values["country"] == "FR" && r.contact("bob@school.example")["country"] == "NL"
	})
	if n := r.lms.Stats().Updates; n != 1 {
		t.Errorf("%d LMS updates, want 1", n)
	}
	r.settled(t)
	r.logs.clean(t, r.secrets()...)
}

// holdWriteLock takes the SQLite file's write lock on a connection of its own, as another process
// would, and returns the function that lets it go.
func holdWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	done := false
	release = func() {
		if done {
			return
		}
		done = true
		if _, err := conn.ExecContext(context.Background(), "COMMIT"); err != nil {
			t.Error(err)
		}
		conn.Close()
	}
	t.Cleanup(release)
	return release
}

// TestFaultStoreDiskFull: the SQLite file lives on a small tmpfs that fills up. The engine
// refuses new work with a clear error (LearnerChanged returns it; a HubSpot webhook delivery is
// answered 500, so HubSpot delivers again), keeps what it had accepted, and once space returns
// takes the redelivery and the host's retry and sends everything, once. It needs root to mount
// the tmpfs (CI runs as root) and is skipped otherwise.
func TestFaultStoreDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root (CI runs as root)")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=4m"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmounting the tmpfs: %v", err)
		}
	})
	var fs *faultStore
	r := newFaultRig(t, rigOptions{store: func(h *harness) storeQueue { fs = openFaultStore(t, "sqlite", dir, h.clk); return fs }})
	r.connect()
	r.withWebhooks()
	r.settings(hubsync.Settings{Mode: hubsync.ModeTwoWay, Mappings: inboundMapping})
	r.lms.Put(school, hubsync.Learner{Email: "ann@school.example", Values: map[string]any{"country": "GR"}})
	accepted := hubsync.Learner{Email: "cy@school.example", Values: map[string]any{"country": "PT"}}
	r.change(accepted)

	// Fill the disk: the write-ahead log is emptied first, so the store's next write must grow it.
	fs.exec(t, "PRAGMA wal_checkpoint(TRUNCATE)")
	filler := filepath.Join(dir, "filler")
	fill(t, filler)

	r.admin("ann@school.example", map[string]string{"country": "FR"})
	if err := r.hs.FlushWebhooks(r.ctx); err == nil || !strings.Contains(err.Error(), "HTTP 500") {
		t.Fatalf("delivery while the disk is full: %v, want HTTP 500", err)
	}
	r.logs.mustHave(t, "level=ERROR", "could not queue HubSpot webhook events", "disk is full")
	bob := hubsync.Learner{Email: "bob@school.example", Values: map[string]any{"country": "NL"}}
	if err := r.eng.LearnerChanged(r.ctx, school, bob); err == nil || !strings.Contains(err.Error(), "disk is full") || !errors.Is(err, hubsync.ErrUnavailable) {
		t.Fatalf("LearnerChanged while the disk is full: %v, want the store's error, matching hubsync.ErrUnavailable (an outage, not a bad record)", err)
	}
	if _, err := r.eng.RunOnce(r.ctx); err == nil || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("RunOnce while the disk is full: %v, want the store's error", err)
	}
	if r.contact("cy@school.example") != nil {
		t.Fatal("work ran although the store could not record it")
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	r.flush()
	r.change(bob) // the host tries again
	r.runUntil("applied", func() bool {
		l, _ := r.lms.Get(school, "ann@school.example")
		return l.Values["country"] == "FR" && r.contact("bob@school.example")["country"] == "NL" &&
			r.contact("cy@school.example")["country"] == "PT"
	})
	if n := r.lms.Stats().Updates; n != 1 {
		t.Errorf("%d LMS updates, want 1", n)
	}
	if n := len(r.hs.Contacts()); n != 3 {
		t.Errorf("%d contacts, want 3 (ann, bob, cy)", n)
	}
	r.settled(t)
	r.logs.clean(t, r.secrets()...)
}

// fill writes path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			break
		}
	}
	// The last bytes a short write left.
	for {
		if _, err := f.Write(chunk[:512]); err != nil {
			return
		}
	}
}
