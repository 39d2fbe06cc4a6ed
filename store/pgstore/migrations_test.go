package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/pgstore"
)

// applyByHand runs migrations as a host's own tool would: each in a transaction of its own, on a
// plain connection whose search_path is the database's default, not the store's schema.
func applyByHand(t testing.TB, ms []pgstore.Migration) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, m := range ms {
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, m.SQL)
			return err
		}); err != nil {
			t.Fatalf("applying migration %d (%s) by hand: %v", m.Version, m.Name, err)
		}
	}
}

// execByHand runs one statement on a plain connection.
func execByHand(t testing.TB, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
}

func migrationsOf(t testing.TB, schema string) []pgstore.Migration {
	t.Helper()
	ms, err := pgstore.Migrations(schema)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// newChecked is New with WithAutoMigrate(false) over a pool whose search_path is public.
func newChecked(t testing.TB, schema string) (*pgstore.Store, error) {
	t.Helper()
	s, err := pgstore.New(context.Background(), openHostPool(t, "public", 2), pgstore.WithSchema(schema), pgstore.WithAutoMigrate(false))
	if err == nil {
		t.Cleanup(s.Close)
	}
	return s, err
}

// TestMigrationsByHand: the exported migrations, applied by plain Exec as an outside tool would,
// make a schema New accepts with WithAutoMigrate(false), and they can run again harmlessly.
func TestMigrationsByHand(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	schema := freshSchema(t)
	ms := migrationsOf(t, schema)
	files, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != len(files) {
		t.Fatalf("Migrations returned %d, want one per embedded file (%d)", len(ms), len(files))
	}
	// Versions start at 1 and increase; one may be missing (a migration numbered below the
	// newest can land after it, from work done side by side), which the runner takes.
	for i, m := range ms {
		if (i == 0 && m.Version != 1) || (i > 0 && m.Version <= ms[i-1].Version) || m.Name == "" || strings.ContainsAny(m.Name, "./") {
			t.Errorf("migration %d: version %d, name %q; want versions from 1 up and a bare title", i, m.Version, m.Name)
		}
		if strings.Contains(m.SQL, "{schema}") || !strings.Contains(m.SQL, `"`+schema+`".schema_migrations`) {
			t.Errorf("migration %d's SQL is not written for schema %s:\n%s", m.Version, schema, m.SQL)
		}
	}

	applyByHand(t, ms)
	s, err := newChecked(t, schema)
	if err != nil {
		t.Fatalf("New with WithAutoMigrate(false) on the migrated schema: %v", err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != ms[len(ms)-1].Version {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, ms[len(ms)-1].Version)
	}
	if err := s.PutSettings(ctx, "a", hubsync.Settings{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSettings(ctx, "a"); err != nil {
		t.Fatal(err)
	}

	applyByHand(t, ms) // again: each statement is idempotent, the records are not doubled
	opened, err := pgstore.Open(ctx, testURL(t), pgstore.WithSchema(schema), pgstore.WithMaxConns(1))
	if err != nil {
		t.Fatalf("Open over the schema migrated by hand: %v", err)
	}
	opened.Close()
	if n := countRows(t, schema, "schema_migrations"); n != len(ms) {
		t.Fatalf("schema_migrations holds %d rows after two runs and an Open, want %d", n, len(ms))
	}
	if _, err := s.GetSettings(ctx, "a"); err != nil {
		t.Fatalf("the settings written before the second run: %v", err)
	}
}

// countRows counts a table's rows through a connection of its own.
func countRows(t testing.TB, schema, table string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{schema, table}.Sanitize()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMigrationsCheck: with WithAutoMigrate(false), New refuses a schema missing the last migration
// (naming it) and one recording a version this pgstore does not know (saying a newer hubsync
// migrated it), and auto-migration brings the first up to date and tolerates the second with a
// warning.
func TestMigrationsCheck(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	schema := freshSchema(t)
	ms := migrationsOf(t, schema)
	last := ms[len(ms)-1]
	applyByHand(t, ms[:len(ms)-1])

	_, err := newChecked(t, schema)
	want := fmt.Sprintf("versions %d (%04d_%s) are not applied", last.Version, last.Version, last.Name)
	if !errors.Is(err, pgstore.ErrSchemaVersion) || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "pgstore: ") {
		t.Fatalf("New without the last migration: err = %v, want ErrSchemaVersion saying %q", err, want)
	}

	s, err := pgstore.New(ctx, openHostPool(t, "public", 2), pgstore.WithSchema(schema)) // auto-migrates
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != last.Version {
		t.Fatalf("SchemaVersion after auto-migration = %d, %v; want %d", v, err, last.Version)
	}
	if _, err := newChecked(t, schema); err != nil {
		t.Fatalf("New with WithAutoMigrate(false) after the auto-migration: %v", err)
	}

	newer := last.Version + 1000
	execByHand(t, fmt.Sprintf(`INSERT INTO %s (version, name, applied_at) VALUES (%d, 'from_the_future', now())`,
		pgx.Identifier{schema, "schema_migrations"}.Sanitize(), newer))
	_, err = newChecked(t, schema)
	if !errors.Is(err, pgstore.ErrSchemaVersion) || !strings.Contains(err.Error(), fmt.Sprint(newer)) || !strings.Contains(err.Error(), "a newer hubsync migrated the database") {
		t.Fatalf("New on a schema with version %d: err = %v, want ErrSchemaVersion naming it and a newer hubsync", newer, err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != newer {
		t.Fatalf("SchemaVersion with the newer record = %d, %v; want %d", v, err, newer)
	}
	// Auto-migration refuses it too: this pgstore would read and write data in a shape it does
	// not know.
	_, err = pgstore.New(ctx, openHostPool(t, "public", 2), pgstore.WithSchema(schema))
	if !errors.Is(err, pgstore.ErrSchemaVersion) || !strings.Contains(err.Error(), fmt.Sprint(newer)) {
		t.Fatalf("New with auto-migration on a schema a newer hubsync migrated: err = %v, want ErrSchemaVersion naming %d", err, newer)
	}
}

// TestMigrationsCheckEmptySchema: with WithAutoMigrate(false), New on a schema that does not exist
// names every version as missing, and creates nothing.
func TestMigrationsCheckEmptySchema(t *testing.T) {
	t.Parallel()
	schema := freshSchema(t)
	_, err := newChecked(t, schema)
	if !errors.Is(err, pgstore.ErrSchemaVersion) || !strings.Contains(err.Error(), "versions 1, 2, 3") {
		t.Fatalf("New on a schema never migrated: err = %v, want ErrSchemaVersion naming versions 1, 2, 3...", err)
	}
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regnamespace($1) IS NOT NULL`, schema).Scan(&exists); err != nil || exists {
		t.Fatalf("after the check, schema exists = %v (%v); want it not created", exists, err)
	}
}

func TestMigrationsRejectBadSchema(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "Hubsync", `x"; DROP SCHEMA public; --`, "a-b", strings.Repeat("a", 64)} {
		ms, err := pgstore.Migrations(name)
		if err == nil || ms != nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("pgstore: Migrations: schema %q is not a lower-case SQL identifier", name)) {
			t.Errorf("Migrations(%q) = %d migrations, %v; want an error naming the schema", name, len(ms), err)
		}
	}
}
