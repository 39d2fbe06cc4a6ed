package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync/store/pgstore"
)

// testURL returns TEST_DATABASE_URL, or skips t saying why.
func testURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("TEST_DATABASE_URL")
	if url == "" {
		t.Skip("TEST_DATABASE_URL is not set: pgstore's tests need a PostgreSQL database (CI's .ci/postgres.sh starts one and sets it)")
	}
	return url
}

// TestMain drops the schemas the tests recycled (see reusedSchema) once every test is done.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := dropPooledSchemas(); err != nil {
		fmt.Fprintln(os.Stderr, "pgstore tests:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func newSchemaName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "pgstore_test_" + hex.EncodeToString(b[:])
}

func dropSchema(ctx context.Context, url, schema string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("dropping test schema %s: %w", schema, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
		return fmt.Errorf("dropping test schema %s: %w", schema, err)
	}
	return nil
}

// freshSchema returns a new, never used schema name and drops the schema when t ends.
func freshSchema(t testing.TB) string {
	t.Helper()
	url := testURL(t)
	schema := newSchemaName()
	t.Cleanup(func() {
		if err := dropSchema(context.Background(), url, schema); err != nil {
			t.Error(err)
		}
	})
	return schema
}

// Creating the tables costs a few hundred milliseconds of DDL, so tests that only need an empty
// store recycle migrated schemas: when a test ends its schema's rows are deleted and its sequences
// reset, and the next test takes it. A test never shares a schema with a running one.
var schemaPool struct {
	mu   sync.Mutex
	url  string
	free []string
	all  []string
}

// reusedSchema returns an empty schema (migrated, or new and about to be migrated by Open) for t's
// sole use, and empties and returns it to the pool when t ends (after t's own later cleanups, such
// as closing the store).
func reusedSchema(t testing.TB) string {
	t.Helper()
	url := testURL(t)
	schemaPool.mu.Lock()
	var schema string
	if n := len(schemaPool.free); n > 0 {
		schema, schemaPool.free = schemaPool.free[n-1], schemaPool.free[:n-1]
	} else {
		schema = newSchemaName()
		schemaPool.all = append(schemaPool.all, schema)
		schemaPool.url = url
	}
	schemaPool.mu.Unlock()
	t.Cleanup(func() {
		if err := emptySchema(context.Background(), url, schema); err != nil {
			t.Errorf("emptying test schema %s: %v", schema, err)
			return // not returned to the pool; TestMain drops it
		}
		schemaPool.mu.Lock()
		schemaPool.free = append(schemaPool.free, schema)
		schemaPool.mu.Unlock()
	})
	return schema
}

// emptySchema deletes every row of the schema's tables (but the migration record) and restarts its
// sequences, so the schema is as Open left it.
func emptySchema(ctx context.Context, url, schema string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT format('DELETE FROM %I.%I', schemaname, tablename) FROM pg_tables
		WHERE schemaname = $1 AND tablename <> 'schema_migrations'
		UNION ALL
		SELECT format('SELECT setval(%L, 1, false)', quote_ident(schemaname) || '.' || quote_ident(sequencename)) FROM pg_sequences
		WHERE schemaname = $1`, schema)
	if err != nil {
		return err
	}
	stmts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	for _, s := range stmts {
		b.Queue(s)
	}
	return conn.SendBatch(ctx, b).Close()
}

func dropPooledSchemas() error {
	schemaPool.mu.Lock()
	defer schemaPool.mu.Unlock()
	for _, s := range schemaPool.all {
		if err := dropSchema(context.Background(), schemaPool.url, s); err != nil {
			return err
		}
	}
	return nil
}

// openTest opens a Store on an empty schema of the test database of its own; the Store is closed
// when t ends.
func openTest(t testing.TB, opts ...pgstore.Option) *pgstore.Store {
	t.Helper()
	url := testURL(t)
	schema := reusedSchema(t)
	s, err := pgstore.Open(context.Background(), url, append([]pgstore.Option{pgstore.WithSchema(schema), pgstore.WithMaxConns(4)}, opts...)...)
	if err != nil {
		t.Fatalf("pgstore.Open: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// openSibling opens a second Store (a second pool: another "instance") on s's schema.
func openSibling(t testing.TB, s *pgstore.Store, opts ...pgstore.Option) *pgstore.Store {
	t.Helper()
	s2, err := pgstore.Open(context.Background(), testURL(t), append([]pgstore.Option{pgstore.WithSchema(s.Schema()), pgstore.WithMaxConns(4)}, opts...)...)
	if err != nil {
		t.Fatalf("pgstore.Open of a second instance: %v", err)
	}
	t.Cleanup(s2.Close)
	return s2
}
