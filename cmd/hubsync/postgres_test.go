package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestPostgresStore runs connect, settings apply, sync and status with --db a postgres:// URL.
// It needs TEST_DATABASE_URL (the database store/pgstore's tests use); each run uses its own
// school id, so runs do not see each other's state.
func TestPostgresStore(t *testing.T) {
	t.Parallel()
	url := os.Getenv("TEST_DATABASE_URL")
	if url == "" {
		t.Skip("TEST_DATABASE_URL is not set: this test needs a PostgreSQL database")
	}
	if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
		t.Skip("TEST_DATABASE_URL is not a postgres:// URL; the command recognises only those")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	f := newFixture(t)
	f.db = url
	f.extra = []string{"--school", "cli-test-" + hex.EncodeToString(b[:])}
	const n = 450
	seedSchool(t, f.lw, n)
	f.connect(t)
	path := f.writeFile(t, "settings.json", settingsFile)
	if r := f.run(t, "settings", "apply", "-f", path); r.code != 0 {
		t.Fatalf("settings apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r := f.run(t, "sync")
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("done: %d records", n)) {
		t.Fatalf("sync: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, url) {
		t.Error("the command printed the database URL")
	}
	for i := range n {
		c, ok := f.hs.Contact(learnerEmail(i))
		if !ok || c.Properties["firstname"] != fmt.Sprintf("learner%05d", i) || c.Properties["country"] != countries[i%len(countries)] {
			t.Fatalf("learner %d: %v %v", i, ok, c.Properties)
		}
	}
	st := f.statusJSON(t)
	if ms, _ := st["manual_sync"].(map[string]any); ms["state"] != "done" {
		t.Fatalf("status: %v", st)
	}
}
