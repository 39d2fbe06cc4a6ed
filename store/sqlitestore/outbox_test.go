package sqlitestore_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/hubsynctest"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

// These are the transactional outbox's tests: the host's write and hubsync's job in one
// transaction of the host's, over New's store in the host's file, with a real engine and the
// fake HubSpot.

const outboxSchool = hubsync.SchoolID("school-1")

// hubSpotApp is the engine's app on the fake hs.
func hubSpotApp(hs *hubspottest.Server) hubsync.HubSpotApp {
	return hubsync.HubSpotApp{ClientID: hs.ClientID(), ClientSecret: hs.ClientSecret(), BaseURL: hs.URL}
}

// newEngine returns an engine over s for the app.
func newEngine(t testing.TB, s *sqlitestore.Store, app hubsync.HubSpotApp) *hubsync.Engine {
	t.Helper()
	eng, err := hubsync.New(hubsync.Config{Store: s, Queue: s, Learners: hubsynctest.NewLearners(0), HubSpot: app,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// connectSchool connects outboxSchool to hs and maps first_name to firstname.
func connectSchool(ctx context.Context, t testing.TB, eng *hubsync.Engine, hs *hubspottest.Server) {
	t.Helper()
	_, refresh := hs.MintToken()
	if _, err := eng.ConnectWithRefreshToken(ctx, outboxSchool, refresh); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.SaveSettings(ctx, outboxSchool, hubsync.Settings{Mappings: []hubsync.Mapping{
		{LMSField: "first_name", HubSpotProperty: "firstname"},
	}}); err != nil {
		t.Fatal(err)
	}
}

// runAll runs the engine's ready work until none is left.
func runAll(ctx context.Context, t testing.TB, eng *hubsync.Engine) {
	t.Helper()
	for range 10 {
		n, err := eng.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("the engine still had work after 10 runs")
}

// hostLearnerChange is the host's learner update: its own row and the learner's change (and,
// with record, her sign-up) queued in one transaction of the host's, committed unless rollback.
func hostLearnerChange(ctx context.Context, db *sql.DB, s *sqlitestore.Store, eng *hubsync.Engine, l hubsync.Learner, record, rollback bool) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op once committed
	if _, err := tx.ExecContext(ctx, `INSERT INTO learners (id, email, first_name) VALUES (?, ?, ?)`,
		l.ID, l.Email, l.Values["first_name"]); err != nil {
		return err
	}
	q := s.WithTx(tx)
	if err := eng.LearnerChangedTx(ctx, q, outboxSchool, l); err != nil {
		return err
	}
	if record {
		if err := eng.RecordTx(ctx, q, outboxSchool, hubsync.Activity{Kind: hubsync.EventSignedUp, Email: l.Email, At: time.Unix(1700000000, 0)}); err != nil {
			return err
		}
	}
	if rollback {
		return tx.Rollback()
	}
	return tx.Commit()
}

// hostLearner reports whether the host's learners table holds id.
func hostLearner(ctx context.Context, t testing.TB, db *sql.DB, id string) bool {
	t.Helper()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM learners WHERE id = ?`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

var ada = hubsync.Learner{ID: "u1", Email: "ada@example.com", Values: map[string]any{"first_name": "Ada"}}

// TestOutboxRollbackAndCommit: the host's transaction rolls back, and neither its row nor the
// learner's job is there; it commits, and the engine delivers the contact and the sign-up. Over a
// pool of one connection too (no deadlock on the engine's path).
func TestOutboxRollbackAndCommit(t *testing.T) {
	t.Parallel()
	for _, conns := range []int{0, 1} {
		t.Run(fmt.Sprintf("max open conns %d", conns), func(t *testing.T) {
			t.Parallel()
			// A guard against a deadlock, not a timing check.
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			hs := hubspottest.NewServer()
			defer hs.Close()
			db := openHostDB(t, newHostFile(t))
			db.SetMaxOpenConns(conns)
			s, err := sqlitestore.New(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			eng := newEngine(t, s, hubSpotApp(hs))
			connectSchool(ctx, t, eng, hs)

			if err := hostLearnerChange(ctx, db, s, eng, ada, true, true); err != nil {
				t.Fatal(err)
			}
			if hostLearner(ctx, t, db, ada.ID) {
				t.Fatal("the host's row is there after its rollback")
			}
			if st, err := s.Stats(ctx, outboxSchool); err != nil || st != (hubsync.QueueStats{}) {
				t.Fatalf("after the host's rollback the queue holds %+v, %v; want nothing", st, err)
			}
			runAll(ctx, t, eng)
			hubsynctest.RequireNoContact(t, hs, ada.Email)

			if err := hostLearnerChange(ctx, db, s, eng, ada, true, false); err != nil {
				t.Fatal(err)
			}
			if !hostLearner(ctx, t, db, ada.ID) {
				t.Fatal("the host's row is missing after its commit")
			}
			runAll(ctx, t, eng)
			if c, ok := hs.Contact(ada.Email); !ok || c.Properties["firstname"] != "Ada" {
				t.Fatalf("after the commit HubSpot holds %+v (found %v), want firstname Ada", c.Properties, ok)
			}
			hubsynctest.RequireTimelineEvents(t, hs, ada.Email, hubsync.EventSignedUp)
			hubsynctest.RequireQueueDrained(ctx, t, s, outboxSchool)
		})
	}
}

// The kill -9 test's child: the env var holds the file, the HubSpot app's base URL, client id
// and secret, split by "|".
const (
	childEnv    = "HUBSYNC_SQLITESTORE_OUTBOX_CHILD"
	childMarker = "hubsync-outbox-child: committed"
)

// TestOutboxSurvivesKill9: a child process commits the host's learner update and its queued
// change, prints a line once the commit returned, and is killed with SIGKILL on that line; the
// change, queued in the host's file, then reaches HubSpot from this process.
func TestOutboxSurvivesKill9(t *testing.T) {
	if v := os.Getenv(childEnv); v != "" {
		outboxChild(t, v)
		return
	}
	t.Parallel()
	ctx := t.Context()
	hs := hubspottest.NewServer()
	defer hs.Close()
	path := filepath.Join(t.TempDir(), "lms.db")
	db := openHostDB(t, path)
	if _, err := db.ExecContext(ctx, hostSchema); err != nil {
		t.Fatal(err)
	}
	s, err := sqlitestore.New(ctx, db, sqlitestore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	connectSchool(ctx, t, newEngine(t, s, hubSpotApp(hs)), hs)
	if err := errors.Join(s.Close(), db.Close()); err != nil {
		t.Fatal(err)
	}

	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestOutboxSurvivesKill9$")
	cmd.Env = append(os.Environ(), childEnv+"="+strings.Join([]string{path, hs.URL, hs.ClientID(), hs.ClientSecret()}, "|"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe() // never written: the child blocks reading it
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	committed := false
	for sc := bufio.NewScanner(stdout); sc.Scan(); {
		if sc.Text() == childMarker {
			committed = true
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if !committed {
		t.Fatalf("the child ended without committing; its stderr:\n%s", stderr.String())
	}

	db = openHostDB(t, path)
	s, err = sqlitestore.New(ctx, db, sqlitestore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !hostLearner(ctx, t, db, ada.ID) {
		t.Fatal("the host's row committed by the killed child is missing")
	}
	eng := newEngine(t, s, hubSpotApp(hs))
	runAll(ctx, t, eng)
	if c, ok := hs.Contact(ada.Email); !ok || c.Properties["firstname"] != "Ada" {
		t.Fatalf("after the child's kill HubSpot holds %+v (found %v), want firstname Ada", c.Properties, ok)
	}
	hubsynctest.RequireTimelineEvents(t, hs, ada.Email, hubsync.EventSignedUp)
	hubsynctest.RequireQueueDrained(ctx, t, s, outboxSchool)
}

// outboxChild is the child of TestOutboxSurvivesKill9: it commits the host's learner update
// with LearnerChangedTx and RecordTx, says so on stdout, and waits to be killed.
func outboxChild(t *testing.T, env string) {
	parts := strings.Split(env, "|")
	if len(parts) != 4 {
		t.Fatalf("%s = %q, want 4 fields", childEnv, env)
	}
	ctx := context.Background()
	db, err := sql.Open("sqlite", hostDSN(parts[0]))
	if err != nil {
		t.Fatal(err)
	}
	s, err := sqlitestore.New(ctx, db, sqlitestore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	eng := newEngine(t, s, hubsync.HubSpotApp{BaseURL: parts[1], ClientID: parts[2], ClientSecret: parts[3]})
	if err := hostLearnerChange(ctx, db, s, eng, ada, true, false); err != nil {
		t.Fatal(err)
	}
	fmt.Println(childMarker) // os.Stdout is unbuffered: the line is out when Println returns
	_, _ = io.Copy(io.Discard, os.Stdin)
	t.Fatal("the parent closed stdin instead of killing the child")
}
