package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlitestore"
	"github.com/hubsync/hubsync/store/storetest"
)

// hostDSN is how the tests' host opens its database file: the DSN settings New asks for.
func hostDSN(path string) string {
	return path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(FULL)&_txlock=immediate"
}

// openHostDB opens the host's pool on the file at path, closed when t ends.
func openHostDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", hostDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// hostSchema is the host's own tables, two of them named as hubsync's tables are without a
// prefix, with rows of the host's.
const hostSchema = `
CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO settings VALUES ('site', 'My LMS'), ('theme', 'dark');
CREATE TABLE jobs (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
INSERT INTO jobs (title) VALUES ('send newsletter'), ('rebuild index');
CREATE TABLE learners (id TEXT PRIMARY KEY, email TEXT NOT NULL, first_name TEXT NOT NULL);
`

// hostRows is what dumpTable gives of the host's settings and jobs tables as hostSchema left them.
const hostRows = "name=site|value=My LMS|\nname=theme|value=dark|\n" + "---\n" + "id=1|title=send newsletter|\nid=2|title=rebuild index|\n"

func dumpHostRows(t testing.TB, path string) string {
	t.Helper()
	return dumpTable(t, path, "settings") + "---\n" + dumpTable(t, path, "jobs")
}

// hostTemplate is a file holding the host's tables and hubsync's, migrated and empty, which
// hostFactory copies.
var hostTemplate struct {
	once sync.Once
	path string
	err  error
}

func hostTemplateFile() (string, error) {
	hostTemplate.once.Do(func() {
		dir, err := os.MkdirTemp("", "sqlitestore-host-template")
		if err != nil {
			hostTemplate.err = err
			return
		}
		path := filepath.Join(dir, "lms.db")
		hostTemplate.path = path
		db, err := sql.Open("sqlite", hostDSN(path))
		if err != nil {
			hostTemplate.err = err
			return
		}
		defer db.Close()
		if _, err := db.Exec(hostSchema); err != nil {
			hostTemplate.err = err
			return
		}
		s, err := sqlitestore.New(context.Background(), db, sqlitestore.WithLogger(slog.New(slog.DiscardHandler)))
		if err == nil {
			err = s.Close()
		}
		hostTemplate.err = err
	})
	return hostTemplate.path, hostTemplate.err
}

// newHostFile copies the host template into t's temporary directory and returns its path.
func newHostFile(t testing.TB) string {
	t.Helper()
	src, err := hostTemplateFile()
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "lms.db")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// hostFactory is the store of New over a host's pool on a file that also holds the host's
// tables; when the test ends, the host's rows must be as they were.
func hostFactory(t testing.TB, cfg storetest.Config) (hubsync.Store, hubsync.Queue) {
	path := newHostFile(t)
	db := openHostDB(t, path)
	s, err := sqlitestore.New(t.Context(), db,
		sqlitestore.WithClock(cfg.Clock), sqlitestore.WithMaxAttempts(cfg.MaxAttempts),
		sqlitestore.WithLogger(slog.New(slog.DiscardHandler)), sqlitestore.WithSealer(cfg.Sealer))
	if err != nil {
		t.Fatal(err)
	}
	paths.Store(s, storeFile{path: path, prefix: sqlitestore.PrefixDefault})
	t.Cleanup(func() {
		paths.Delete(s)
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		if err := db.PingContext(context.Background()); err != nil {
			t.Errorf("the host's pool after the store's Close: %v, want it open", err)
		}
		if got := dumpHostRows(t, path); got != hostRows {
			t.Errorf("the host's tables after the test:\n%s\nwant them untouched:\n%s", got, hostRows)
		}
	})
	return s, s
}

// TestConformanceInHostDB runs the conformance suite over New's store in a host's file whose
// own settings and jobs tables keep their rows.
func TestConformanceInHostDB(t *testing.T) {
	t.Parallel()
	storetest.Run(t, hostFactory)
	storetest.RunSealing(t, hostFactory, rawConnections)
}

// TestHostFileTablesAllPrefixed: in a host's file, every table and index New created is named
// with the prefix, beside the host's own.
func TestHostFileTablesAllPrefixed(t *testing.T) {
	t.Parallel()
	path := newHostFile(t)
	db := openHostDB(t, path)
	rows, err := db.QueryContext(t.Context(), `SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var typ, name string
		if err := rows.Scan(&typ, &name); err != nil {
			t.Fatal(err)
		}
		switch {
		case name == "settings" || name == "jobs" || name == "learners":
		case strings.HasPrefix(name, sqlitestore.PrefixDefault):
			n++
		default:
			t.Errorf("%s %s is neither the host's nor named with the prefix %s", typ, name, sqlitestore.PrefixDefault)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 12 {
		t.Fatalf("found %d prefixed tables and indexes, want hubsync's", n)
	}
}

// TestNewChecksTheHostConnections: New refuses a pool it cannot work with, saying which DSN
// setting to add, and options that are not for it.
func TestNewChecksTheHostConnections(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		dsn  string
		opts []sqlitestore.Option
		want string // "" when New must succeed
	}{
		{"rollback journal", "a.db?_pragma=busy_timeout(5000)", nil, "_pragma=journal_mode(WAL)"},
		{"in memory", ":memory:", nil, "not WAL"},
		{"no busy timeout", "b.db?_pragma=journal_mode(WAL)", nil, "_pragma=busy_timeout(5000)"},
		{"no busy timeout, none wanted", "c.db?_pragma=journal_mode(WAL)", []sqlitestore.Option{sqlitestore.WithBusyTimeout(0)}, ""},
		{"synchronous", "d.db?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)", []sqlitestore.Option{sqlitestore.WithSynchronous(sqlitestore.SyncNormal)}, "WithSynchronous is for Open"},
		{"bad prefix", "e.db?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)", []sqlitestore.Option{sqlitestore.WithTablePrefix("Hub-Sync")}, `WithTablePrefix: table prefix "Hub-Sync" is not`},
		{"digit first", "f.db?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)", []sqlitestore.Option{sqlitestore.WithTablePrefix("1hs_")}, `table prefix "1hs_"`},
		{"reserved prefix", "g.db?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)", []sqlitestore.Option{sqlitestore.WithTablePrefix("sqlite_hs_")}, "SQLite reserves"},
		{"no prefix", "h.db?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)", []sqlitestore.Option{sqlitestore.WithTablePrefix("")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dsn := tc.dsn
			if dsn != ":memory:" {
				dsn = filepath.Join(dir, dsn)
			}
			db, err := sql.Open("sqlite", dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			s, err := sqlitestore.New(t.Context(), db, tc.opts...)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if err := s.PutSettings(t.Context(), "a", hubsync.Settings{}); err != nil {
					t.Fatal(err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("New succeeded, want an error mentioning %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "sqlitestore: ") {
				t.Fatalf("New error = %q, want it prefixed sqlitestore: and mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := sqlitestore.New(t.Context(), nil); err == nil || !strings.Contains(err.Error(), "nil *sql.DB") {
		t.Fatalf("New(nil) = %v, want an error naming the nil db", err)
	}
}

// TestSingleConnectionPool: a host pool of one connection serves the store's reads, writes,
// RunInTx and a host transaction through WithTx without deadlock.
func TestSingleConnectionPool(t *testing.T) {
	t.Parallel()
	// A guard against a deadlock (the test would hang until go test's timeout), not a timing check.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	path := newHostFile(t)
	db := openHostDB(t, path)
	db.SetMaxOpenConns(1)
	s, err := sqlitestore.New(ctx, db, sqlitestore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutSettings(ctx, "a", hubsync.Settings{GDPRToolkit: true}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetSettings(ctx, "a"); err != nil || !got.GDPRToolkit {
		t.Fatalf("GetSettings = %+v, %v", got, err)
	}
	err = s.RunInTx(ctx, func(ctx context.Context, st hubsync.Store, q hubsync.Queue) error {
		if _, err := st.GetSettings(ctx, "a"); err != nil {
			return err
		}
		if _, err := q.Stats(ctx, "a"); err != nil {
			return err
		}
		return q.Enqueue(ctx, hubsync.JobSpec{School: "a", Kind: "push", Key: "k1"})
	})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO learners VALUES ('u1', 'ada@example.com', 'Ada')`); err != nil {
		t.Fatal(err)
	}
	ts := s.WithTx(tx)
	if err := ts.Enqueue(ctx, hubsync.JobSpec{School: "a", Kind: "push", Key: "k2"}); err != nil {
		t.Fatal(err)
	}
	if st, err := ts.Stats(ctx, "a"); err != nil || st.Ready != 2 {
		t.Fatalf("Stats inside the host's transaction = %+v, %v; want 2 ready", st, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.Dequeue(ctx, hubsync.DequeueOptions{Worker: "w", Max: 10})
	if err != nil || len(jobs) != 2 {
		t.Fatalf("Dequeue = %d jobs, %v; want 2", len(jobs), err)
	}
	for _, j := range jobs {
		if err := s.Ack(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	if schools, err := s.ListSchools(ctx); err != nil || len(schools) != 1 {
		t.Fatalf("ListSchools = %v, %v", schools, err)
	}
	if err := s.Vacuum(ctx); err != nil {
		t.Fatalf("Vacuum over the host's pool: %v", err)
	}
	if got := dumpHostRows(t, path); got != hostRows {
		t.Fatalf("the host's tables:\n%s\nwant them untouched", got)
	}
}

// TestWithTxRollsBackWithTheHost: what the bound store wrote goes when the host's transaction
// rolls back, and the store refuses Close on it.
func TestWithTxRollsBackWithTheHost(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openHostDB(t, newHostFile(t))
	s, err := sqlitestore.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := s.WithTx(tx)
	if err := ts.PutSettings(ctx, "a", hubsync.Settings{}); err != nil {
		t.Fatal(err)
	}
	err = ts.RunInTx(ctx, func(ctx context.Context, st hubsync.Store, q hubsync.Queue) error {
		return q.Enqueue(ctx, hubsync.JobSpec{School: "a", Kind: "push"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Close(); err == nil {
		t.Fatal("Close on the store of a host's transaction succeeded")
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSettings(ctx, "a"); !errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("settings after the host's rollback: %v, want ErrNotFound", err)
	}
	if st, err := s.Stats(ctx, "a"); err != nil || st != (hubsync.QueueStats{}) {
		t.Fatalf("Stats after the host's rollback = %+v, %v; want nothing", st, err)
	}
	if err := ts.PutSettings(ctx, "a", hubsync.Settings{}); !errors.Is(err, sql.ErrTxDone) {
		t.Fatalf("the bound store after the transaction: %v, want sql.ErrTxDone", err)
	}
}

// migrationsTo applies ms to the file at path the way a host's migration tool would: each with
// one plain Exec in a transaction of its own.
func migrationsTo(t testing.TB, db *sql.DB, ms []sqlitestore.Migration) {
	t.Helper()
	for _, m := range ms {
		tx, err := db.BeginTx(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(t.Context(), m.SQL); err != nil {
			t.Fatalf("migration %s: %v", m.Name, err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMigrationsByTheHostsTool: migrations applied by plain Exec satisfy New without
// auto-migration; one missing or one unknown is ErrSchemaVersion, named.
func TestMigrationsByTheHostsTool(t *testing.T) {
	t.Parallel()
	ms, err := sqlitestore.Migrations(sqlitestore.PrefixDefault)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 5 {
		t.Fatalf("Migrations = %d, want at least 5", len(ms))
	}
	last := ms[len(ms)-1]
	for i, m := range ms {
		if m.Version != i+1 || (m.Name == "" || strings.ContainsAny(m.Name, "./ ")) || m.SQL == "" {
			t.Errorf("migration %d = %d %q, want version %d", i, m.Version, m.Name, i+1)
		}
	}
	noAuto := []sqlitestore.Option{sqlitestore.WithAutoMigrate(false), sqlitestore.WithLogger(slog.New(slog.DiscardHandler))}

	t.Run("all applied", func(t *testing.T) {
		t.Parallel()
		db := openHostDB(t, filepath.Join(t.TempDir(), "lms.db"))
		migrationsTo(t, db, ms)
		s, err := sqlitestore.New(t.Context(), db, noAuto...)
		if err != nil {
			t.Fatalf("New after the host's tool ran every migration: %v", err)
		}
		defer s.Close()
		if v, err := s.SchemaVersion(t.Context()); err != nil || v != last.Version {
			t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, last.Version)
		}
		if err := s.Enqueue(t.Context(), hubsync.JobSpec{School: "a", Kind: "push"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("last missing", func(t *testing.T) {
		t.Parallel()
		db := openHostDB(t, filepath.Join(t.TempDir(), "lms.db"))
		migrationsTo(t, db, ms[:len(ms)-1])
		_, err := sqlitestore.New(t.Context(), db, noAuto...)
		if !errors.Is(err, sqlitestore.ErrSchemaVersion) || !strings.Contains(err.Error(), last.Name) {
			t.Fatalf("New with the last migration missing: %v, want ErrSchemaVersion naming %s", err, last.Name)
		}
		if n := len(regexp.MustCompile(`\b\d{4}_`).FindAllString(err.Error(), -1)); n != 1 {
			t.Fatalf("error %q names %d migrations, want only the missing one", err, n)
		}
		// Auto-migration applies only the missing one over what the tool did.
		s, err := sqlitestore.New(t.Context(), db, sqlitestore.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatalf("New with auto-migration after the host's tool: %v", err)
		}
		defer s.Close()
		if v, err := s.SchemaVersion(t.Context()); err != nil || v != last.Version {
			t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, last.Version)
		}
	})
	t.Run("none applied", func(t *testing.T) {
		t.Parallel()
		db := openHostDB(t, filepath.Join(t.TempDir(), "lms.db"))
		_, err := sqlitestore.New(t.Context(), db, noAuto...)
		if !errors.Is(err, sqlitestore.ErrSchemaVersion) || !strings.Contains(err.Error(), ms[0].Name) {
			t.Fatalf("New on an empty file without auto-migration: %v, want ErrSchemaVersion naming %s", err, ms[0].Name)
		}
	})
	t.Run("newer version", func(t *testing.T) {
		t.Parallel()
		db := openHostDB(t, filepath.Join(t.TempDir(), "lms.db"))
		migrationsTo(t, db, ms)
		if _, err := db.ExecContext(t.Context(), `INSERT INTO hubsync_schema_migrations VALUES (999, '0999_future.sql', 0)`); err != nil {
			t.Fatal(err)
		}
		for _, opts := range [][]sqlitestore.Option{noAuto, nil} {
			_, err := sqlitestore.New(t.Context(), db, opts...)
			if !errors.Is(err, sqlitestore.ErrSchemaVersion) || !strings.Contains(err.Error(), "0999_future.sql") || !strings.Contains(err.Error(), "newer hubsync") {
				t.Fatalf("New on a file a newer hubsync migrated: %v, want ErrSchemaVersion naming 0999_future.sql", err)
			}
		}
	})
	t.Run("bad prefix", func(t *testing.T) {
		t.Parallel()
		for _, p := range []string{"Hub", "hub-sync_", "1_", "sqlite_x", "hub sync"} {
			if _, err := sqlitestore.Migrations(p); err == nil || !strings.Contains(err.Error(), "sqlitestore: Migrations: table prefix") {
				t.Errorf("Migrations(%q) = %v, want an error naming the prefix", p, err)
			}
		}
	})
}

// objectNames finds the names a statement of a migration creates or changes.
var objectNames = regexp.MustCompile(`(?i)\b(?:TABLE(?: IF NOT EXISTS)?|INDEX(?: IF (?:NOT )?EXISTS)?|ON|INTO|UPDATE|FROM)\s+([a-z_][a-z0-9_]*)`)

// TestMigrationsUsePrefix: every table and index the migrations name carries the prefix, and the
// prefix "" gives the names of the files Open made before prefixes.
func TestMigrationsUsePrefix(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"hubsync_", "x_"} {
		ms, err := sqlitestore.Migrations(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			var code strings.Builder
			for line := range strings.Lines(m.SQL) {
				code.WriteString(strings.SplitN(line, "--", 2)[0])
			}
			for _, match := range objectNames.FindAllStringSubmatch(code.String(), -1) {
				if name := match[1]; !strings.HasPrefix(name, p) && !strings.EqualFold(name, "CONFLICT") {
					t.Errorf("migration %s for prefix %q names %s", m.Name, p, name)
				}
			}
		}
	}
	ms, err := sqlitestore.Migrations("")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ms[0].SQL, "CREATE TABLE jobs (") || !strings.Contains(ms[0].SQL, "CREATE INDEX jobs_ready ON jobs") {
		t.Fatalf("migration %s for prefix \"\" does not create jobs as before:\n%s", ms[0].Name, ms[0].SQL)
	}
}
