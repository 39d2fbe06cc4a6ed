// Command lmshost is a tiny LMS backend that embeds hubsync in its own SQLite database: its
// learner updates and hubsync's sync jobs commit in one transaction (the transactional outbox),
// hubsync reads and writes the host's own learners table through a Learners implementation of its
// own, and the settings page is mounted in the host's HTTP server.
//
//	go run ./examples/lmshost            # the demo, against a fake HubSpot in this process
//	go run ./examples/lmshost -serve     # the same, then keeps serving the API and the settings page
//
// The demo connects a school, saves a mapping, then goes through the host's own HTTP API: a
// learner created and renamed (each update reaches HubSpot), an update hubsync refuses (not stored
// either: one transaction), an enrolment (a timeline event and the lifecycle stage), and learners
// the host had before it embedded hubsync, backfilled by a manual sync.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, the host's and hubsync's

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/settingsui"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "lmshost:", err)
		os.Exit(1)
	}
}

const demoSchool = hubsync.SchoolID("demo-school")

func run(ctx context.Context, args []string, out io.Writer) error {
	fl := flag.NewFlagSet("lmshost", flag.ContinueOnError)
	dbPath := fl.String("db", "", "the host's SQLite file (default: a new one in a temporary directory)")
	addr := fl.String("addr", "127.0.0.1:0", "where the host's HTTP server listens")
	serve := fl.Bool("serve", false, "keep serving after the demo, until interrupted")
	timeout := fl.Duration("timeout", 30*time.Second, "how long the demo waits for each change to reach HubSpot")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *dbPath != "" {
		// The demo's steps expect a school that has not been synced: on a file of an earlier run,
		// hubsync rightly sends nothing twice (its once-events are recorded there).
		if _, err := os.Stat(*dbPath); err == nil {
			return fmt.Errorf("-db %s: the file exists; the demo needs a new one (or leave -db out)", *dbPath)
		}
	}
	if *dbPath == "" {
		dir, err := os.MkdirTemp("", "lmshost-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*dbPath = filepath.Join(dir, "lms.db")
	}

	// The host's own database handle. hubsync needs WAL (readers beside the writer) and a busy
	// timeout; _txlock=immediate makes the host's write transactions take the write lock at BEGIN.
	db, err := sql.Open("sqlite", "file:"+*dbPath+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, hostSchema); err != nil {
		return fmt.Errorf("creating the host's tables: %w", err)
	}
	// hubsync over the same *sql.DB: no second pool; its tables are prefixed "hubsync_".
	store, err := sqlitestore.New(ctx, db)
	if err != nil {
		return err
	}
	defer store.Close()

	hs := hubspottest.NewServer()
	defer hs.Close()
	lms := &learners{db: db, now: time.Now, pageSize: 100}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	eng, err := hubsync.New(hubsync.Config{
		Store: store, Queue: store, Learners: lms,
		HubSpot: hubsync.HubSpotApp{ClientID: hs.ClientID(), ClientSecret: hs.ClientSecret(), BaseURL: hs.URL,
			AuthorizeURL: hs.URL + "/oauth/authorize", RedirectURL: base + "/admin/hubspot/oauth/callback"},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return err
	}
	h := &host{db: db, store: store, eng: eng, now: time.Now}

	mux := http.NewServeMux()
	h.routes(mux)
	mux.Handle("POST /hubspot/webhooks", eng.HubSpotWebhooks(hubsync.WebhookOptions{PublicURL: base + "/hubspot/webhooks"}))
	adminToken := "demo-admin"
	ui, err := settingsui.New(settingsui.Options{Engine: eng, BasePath: "/admin/hubspot",
		Authorize: func(r *http.Request) (settingsui.Admin, error) {
			// A real host checks its own session here.
			if c, err := r.Cookie("admin"); err == nil && c.Value == adminToken {
				return settingsui.Admin{ID: "admin", School: demoSchool}, nil
			}
			if r.URL.Query().Get("admin") == adminToken {
				return settingsui.Admin{ID: "admin", School: demoSchool}, nil
			}
			return settingsui.Admin{}, errors.New("not signed in as the school's admin")
		}})
	if err != nil {
		return err
	}
	mux.Handle("/admin/hubspot/", ui)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	runCtx, stopEngine := context.WithCancel(ctx)
	engineDone := make(chan error, 1)
	go func() { engineDone <- eng.Run(runCtx) }()
	defer func() { stopEngine(); <-engineDone }()

	d := demo{ctx: ctx, out: out, base: base, hs: hs, wait: *timeout}
	if err := d.run(eng, db); err != nil {
		return err
	}
	if !*serve {
		return nil
	}
	fmt.Fprintf(out, "\nserving: API %s/api/schools/%s/learners/{id}, settings page %s/admin/hubspot/?admin=%s (Ctrl-C stops)\n",
		base, demoSchool, base, adminToken)
	<-ctx.Done()
	return nil
}

// demo walks through the host's API and shows what reached HubSpot.
type demo struct {
	ctx  context.Context
	out  io.Writer
	base string
	hs   *hubspottest.Server
	wait time.Duration
}

func (d demo) run(eng *hubsync.Engine, db *sql.DB) error {
	_, refresh := d.hs.MintToken()
	if _, err := eng.ConnectWithRefreshToken(d.ctx, demoSchool, refresh); err != nil {
		return fmt.Errorf("connecting the demo school: %w", err)
	}
	if _, err := eng.SaveSettings(d.ctx, demoSchool, hubsync.Settings{UpdateLifecycleStage: true, Mappings: []hubsync.Mapping{
		{LMSField: "first_name", HubSpotProperty: "firstname"},
		{LMSField: "last_name", HubSpotProperty: "lastname"},
	}}); err != nil {
		return fmt.Errorf("saving the demo school's settings: %w", err)
	}
	fmt.Fprintf(d.out, "1. school %s connected to HubSpot portal (fake), first_name/last_name mapped\n", demoSchool)

	// Learners the host had before it embedded hubsync: a manual sync backfills them.
	for i, name := range []string{"Grace", "Edsger"} {
		if _, err := db.ExecContext(d.ctx, `INSERT INTO learners (id, school, email, first_name, created_at, updated_at) VALUES (?, ?, ?, ?, 0, 0)`,
			fmt.Sprintf("old-%d", i), string(demoSchool), fmt.Sprintf("%s@example.com", name), name); err != nil {
			return err
		}
	}

	if err := d.put("u1", `{"email":"ada@example.com","first_name":"Ada","last_name":"Byron"}`, http.StatusNoContent); err != nil {
		return err
	}
	if err := d.waitContact("ada@example.com", "lastname", "Byron"); err != nil {
		return err
	}
	fmt.Fprintln(d.out, "2. PUT learner u1 (Ada Byron): row and sync job in one transaction; contact in HubSpot: lastname=Byron")

	if err := d.put("u1", `{"email":"ada@example.com","first_name":"Ada","last_name":"Lovelace"}`, http.StatusNoContent); err != nil {
		return err
	}
	if err := d.waitContact("ada@example.com", "lastname", "Lovelace"); err != nil {
		return err
	}
	fmt.Fprintln(d.out, "3. PUT learner u1 (renamed Lovelace): contact in HubSpot: lastname=Lovelace")

	if err := d.put("u2", `{"email":"not-an-email","first_name":"Bad"}`, http.StatusBadRequest); err != nil {
		return err
	}
	var n int
	if err := db.QueryRowContext(d.ctx, `SELECT count(*) FROM learners WHERE id = 'u2'`).Scan(&n); err != nil {
		return err
	}
	if n != 0 {
		return errors.New("the refused update was stored by the host although its transaction rolled back")
	}
	fmt.Fprintln(d.out, "4. PUT learner u2 with a bad email: 400, and the host's row rolled back with it (rows: 0)")

	if err := d.post("/api/schools/"+string(demoSchool)+"/learners/u1/enrollments", `{"course":"Analytical Engines 101"}`); err != nil {
		return err
	}
	if err := d.waitContact("ada@example.com", hubsync.LifecycleProperty, hubsync.StageCustomer); err != nil {
		return err
	}
	if err := d.waitEvents(1); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "5. POST enrolment: its timeline event and lifecycle stage queued in one transaction with the row; stage: customer, timeline events: %d\n", len(d.hs.TimelineEvents()))

	if _, err := eng.StartManualSync(d.ctx, demoSchool, ""); err != nil {
		return fmt.Errorf("starting the manual sync: %w", err)
	}
	if err := d.waitContact("edsger@example.com", "firstname", "Edsger"); err != nil {
		return err
	}
	if err := d.waitContact("grace@example.com", "firstname", "Grace"); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "6. manual sync: the 2 learners the host had before hubsync are contacts too (%d contacts)\n", len(d.hs.Contacts()))
	return nil
}

func (d demo) put(id, body string, want int) error {
	req, err := http.NewRequestWithContext(d.ctx, http.MethodPut, d.base+"/api/schools/"+string(demoSchool)+"/learners/"+id, bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	return d.do(req, want)
}

func (d demo) post(path, body string) error {
	req, err := http.NewRequestWithContext(d.ctx, http.MethodPost, d.base+path, bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	return d.do(req, http.StatusNoContent)
}

func (d demo) do(req *http.Request, want int) error {
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d: %s", req.Method, req.URL.Path, resp.StatusCode, want, bytes.TrimSpace(b))
	}
	return nil
}

// waitEvents waits until the fake HubSpot holds n timeline events.
func (d demo) waitEvents(n int) error {
	deadline := time.Now().Add(d.wait)
	for len(d.hs.TimelineEvents()) < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v, HubSpot holds %d timeline events, want %d", d.wait, len(d.hs.TimelineEvents()), n)
		}
		select {
		case <-d.ctx.Done():
			return d.ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// waitContact waits until the fake HubSpot's contact has property = want.
func (d demo) waitContact(email, property, want string) error {
	deadline := time.Now().Add(d.wait)
	for {
		c, ok := d.hs.Contact(email)
		if ok && c.Properties[property] == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v, HubSpot's contact for %s has %s = %q, want %q", d.wait, hubsync.MaskEmail(email), property, c.Properties[property], want)
		}
		select {
		case <-d.ctx.Done():
			return d.ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
