package hubsync_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/store/pgstore"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

// sharedStores opens two stores on one database, as two processes would: one SQLite file, or one
// PostgreSQL schema (skipped, saying why, without TEST_DATABASE_URL).
func sharedStores(t *testing.T, kind string, clk clock.Clock) (a, b storeQueue) {
	t.Helper()
	ctx := t.Context()
	switch kind {
	case "sqlite":
		path := filepath.Join(t.TempDir(), "hubsync.db")
		open := func() storeQueue {
			s, err := sqlitestore.Open(ctx, path, sqlitestore.WithClock(clk), sqlitestore.WithSynchronous(sqlitestore.SyncNormal))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		return open(), open()
	case "postgres":
		url := os.Getenv("TEST_DATABASE_URL")
		if url == "" {
			t.Skip("TEST_DATABASE_URL is not set: the PostgreSQL case needs a database (CI's .ci/postgres.sh starts one and sets it)")
		}
		var b [6]byte
		_, _ = rand.Read(b[:])
		schema := "hubsync_procs_" + hex.EncodeToString(b[:])
		open := func() *pgstore.Store {
			s, err := pgstore.Open(ctx, url, pgstore.WithClock(clk), pgstore.WithSchema(schema))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		sa, sb := open(), open()
		t.Cleanup(func() {
			sa.Close()
			sb.Close()
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Logf("dropping test schema %s: %v", schema, err)
				return
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
				t.Logf("dropping test schema %s: %v", schema, err)
			}
		})
		return sa, sb
	}
	t.Fatalf("unknown store kind %q", kind)
	return nil, nil
}

// TestAnotherProcessDisconnectStopsThisEngine: two engines (two processes) share one database.
// When one disconnects or deactivates a school, the other notices before its next batch: it sends
// nothing more to HubSpot for the school, and keeps the school's pending work, which lands once
// the school is connected again.
func TestAnotherProcessDisconnectStopsThisEngine(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			sa, sb := sharedStores(t, kind, h.clk)
			engine := func(s storeQueue) *hubsync.Engine {
				e := h.engine(h.config(s, h.lms))
				return e
			}
			a, b := engine(sa), engine(sb)
			h.eng = a
			h.connect()
			h.settings(hubsync.Settings{Mappings: basicMapping})
			change := func(email, country string) {
				t.Helper()
				if err := a.LearnerChanged(h.ctx, school, hubsync.Learner{Email: email, Values: map[string]any{"country": country}}); err != nil {
					t.Fatal(err)
				}
			}
			runA := func() {
				t.Helper()
				if _, err := a.RunOnce(h.ctx); err != nil {
					t.Fatal(err)
				}
			}
			pending := func() hubsync.QueueStats {
				t.Helper()
				st, err := sa.Stats(h.ctx, school)
				if err != nil {
					t.Fatal(err)
				}
				return st
			}
			change("one@school.example", "GR")
			runA()
			if h.contact("one@school.example")["country"] != "GR" {
				t.Fatal("engine A did not sync before the disconnect")
			}

			// Process B disconnects the school; A still holds a client for it.
			if err := b.Disconnect(h.ctx, school); err != nil {
				t.Fatal(err)
			}
			calls := h.hs.Stats().Requests
			change("two@school.example", "FR")
			runA()
			if got := h.hs.Stats().Requests - calls; got != 0 {
				t.Fatalf("engine A made %d HubSpot calls for a school another process disconnected", got)
			}
			if h.contact("two@school.example") != nil {
				t.Fatal("engine A wrote to HubSpot after the disconnect")
			}
			if q := pending(); q.Ready+q.Scheduled != 1 || q.Dead != 0 {
				t.Fatalf("after the disconnect the change should wait in the queue: %+v", q)
			}

			// B connects it again: A picks the new tokens up and the kept change lands.
			h.eng = b
			h.connect()
			// A looks at the stored connection again within seconds, not a minute: a school
			// reconnected by "hubsync connect" while "hubsync serve" runs resumes at once.
			h.clk.Advance(5 * time.Second)
			runA()
			if h.contact("two@school.example")["country"] != "FR" {
				t.Fatal("the change kept during the disconnect did not land within 5 s of the reconnect")
			}

			// B meets an expired token, refreshes it and stores the new one: A takes the stored
			// tokens before its next batch (no 401, no refresh of its own), keeping its client.
			h.hs.ExpireAccessTokens()
			if err := b.LearnerChanged(h.ctx, school, hubsync.Learner{Email: "four@school.example", Values: map[string]any{"country": "ES"}}); err != nil {
				t.Fatal(err)
			}
			for range 2 { // the 401, the refresh and a 1 s pause; then the upsert
				if _, err := b.RunOnce(h.ctx); err != nil {
					t.Fatal(err)
				}
				h.clk.Advance(2 * time.Second)
			}
			if h.contact("four@school.example")["country"] != "ES" {
				t.Fatal("engine B did not sync after refreshing its token")
			}
			calls = h.hs.Stats().Requests
			change("five@school.example", "PT")
			runA()
			if got := h.hs.Stats().Requests - calls; got != 1 || h.contact("five@school.example")["country"] != "PT" {
				t.Fatalf("engine A made %d HubSpot calls after B refreshed the tokens, want 1 (the upsert, with B's token)", got)
			}

			// B reconnects the school to another portal: A forgets everything it cached for the
			// school (its client, the old portal's property schema) and starts again from the
			// store, so its next batch reads the new portal's schema before it writes.
			conn, err := sb.GetConnection(h.ctx, school)
			if err != nil {
				t.Fatal(err)
			}
			conn.PortalID++
			if err := sb.PutConnection(h.ctx, conn); err != nil {
				t.Fatal(err)
			}
			h.hs.ResetStats()
			change("six@school.example", "NL")
			runA()
			if st := h.hs.Stats(); st.Requests != 2 || h.contact("six@school.example")["country"] != "NL" {
				t.Fatalf("after a reconnect to another portal engine A made %d calls %v, want 2 (a fresh schema read, the upsert)", st.Requests, st.ByRoute)
			}

			// B deactivates the school (as when it sees the refresh refused): A stops again.
			conn, err = sb.GetConnection(h.ctx, school)
			if err != nil {
				t.Fatal(err)
			}
			conn.Active, conn.DeactivatedAt, conn.DeactivatedReason = false, h.clk.Now(), "refresh refused"
			if err := sb.PutConnection(h.ctx, conn); err != nil {
				t.Fatal(err)
			}
			calls = h.hs.Stats().Requests
			change("three@school.example", "IT")
			runA()
			if got := h.hs.Stats().Requests - calls; got != 0 {
				t.Fatalf("engine A made %d HubSpot calls for a school another process deactivated", got)
			}
			if q := pending(); q.Ready+q.Scheduled != 1 || q.Dead != 0 {
				t.Fatalf("after the deactivation the change should wait in the queue: %+v", q)
			}
		})
	}
}
