package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
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

// freshSchema returns a new, unique schema name and drops the schema when t ends.
func freshSchema(t testing.TB) string {
	t.Helper()
	url := testURL(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "pgstore_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("dropping test schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("dropping test schema %s: %v", schema, err)
		}
	})
	return schema
}

// openTest opens a Store on a fresh schema of the test database; it is closed and its schema
// dropped when t ends.
func openTest(t testing.TB, opts ...pgstore.Option) *pgstore.Store {
	t.Helper()
	url := testURL(t)
	schema := freshSchema(t)
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
