package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/seal"
	"github.com/hubsync/hubsync/store/pgstore"
)

// rawConnections reads every row of the store's connections and lms_connections tables as text
// (row_to_json of each), through a connection of its own, past the store's methods.
func rawConnections(t testing.TB, s hubsync.Store) string {
	t.Helper()
	schema := s.(*pgstore.Store).Schema()
	return dumpTable(t, schema, "connections") + "\n" + dumpTable(t, schema, "lms_connections")
}

func dumpTable(t testing.TB, schema, table string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT row_to_json(c)::text FROM `+pgx.Identifier{schema, table}.Sanitize()+` c`)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

func keyring(t testing.TB, id string, n byte) *seal.Keyring {
	t.Helper()
	k, err := seal.NewKey(id, bytes.Repeat([]byte{n}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	kr, err := seal.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// TestLegacyPlainTokens: rows written without a key read the same once the store has a keyring,
// and the next PutConnection seals them; a store without the key then cannot read them; a sealed
// token copied into another school's row does not open there.
func TestLegacyPlainTokens(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tok := hubsync.Token{AccessToken: "CJSPpgLegacyAccess-7Hq2", RefreshToken: "na1-pg-legacy-refresh-3f9a"}
	plain := openTest(t)
	for _, school := range []hubsync.SchoolID{"a", "b"} {
		if err := plain.PutConnection(ctx, hubsync.Connection{School: school, Token: tok, Active: true}); err != nil {
			t.Fatal(err)
		}
	}
	if raw := dumpTable(t, plain.Schema(), "connections"); !strings.Contains(raw, tok.RefreshToken) {
		t.Fatalf("without a key the token should be stored plain (legacy); raw rows:\n%s", raw)
	}
	sealed := openSibling(t, plain, pgstore.WithSealer(keyring(t, "k1", 1)))
	for _, school := range []hubsync.SchoolID{"a", "b"} {
		c, err := sealed.GetConnection(ctx, school)
		if err != nil || c.Token.AccessToken != tok.AccessToken || c.Token.RefreshToken != tok.RefreshToken {
			t.Fatalf("a legacy plain row with a keyring: %v; want the tokens as stored", err)
		}
		if err := sealed.PutConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	raw := dumpTable(t, plain.Schema(), "connections")
	if strings.Contains(raw, tok.AccessToken) || strings.Contains(raw, tok.RefreshToken) || strings.Count(raw, hubsync.SealedPrefix) != 4 {
		t.Fatalf("after a write with a keyring the tokens should be sealed; raw rows:\n%s", raw)
	}
	if _, err := plain.GetConnection(ctx, "a"); !errors.Is(err, hubsync.ErrUnseal) {
		t.Fatalf("a sealed row without a key: err = %v; want ErrUnseal", err)
	}

	conn, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tbl := pgx.Identifier{plain.Schema(), "connections"}.Sanitize()
	if _, err := conn.Exec(ctx, `UPDATE `+tbl+` SET refresh_token = (SELECT refresh_token FROM `+tbl+` WHERE school = 'a') WHERE school = 'b'`); err != nil {
		t.Fatal(err)
	}
	if _, err := sealed.GetConnection(ctx, "b"); !errors.Is(err, hubsync.ErrUnseal) {
		t.Fatalf("school b with school a's sealed refresh token: err = %v; want ErrUnseal", err)
	}
}
