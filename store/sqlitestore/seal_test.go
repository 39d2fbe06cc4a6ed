package sqlitestore_test

import (
	"bytes"
	"database/sql"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/seal"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

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

func open(t testing.TB, path string, opts ...sqlitestore.Option) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(t.Context(), path, append([]sqlitestore.Option{sqlitestore.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func closeStore(t testing.TB, s *sqlitestore.Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

var legacyTok = hubsync.Token{AccessToken: "CJSPlegacyAccess-7Hq2Lm", RefreshToken: "na1-legacy-refresh-3f9a"}

// TestLegacyPlainTokens: a file written without a key (plain tokens) reads the same once the store
// has a keyring, and the next PutConnection seals the tokens; a store without the key then cannot
// read them (ErrUnseal, naming no token).
func TestLegacyPlainTokens(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hubsync.db")
	s := open(t, path)
	if err := s.PutConnection(ctx, hubsync.Connection{School: "a", Token: legacyTok, Active: true}); err != nil {
		t.Fatal(err)
	}
	closeStore(t, s)
	if raw := dumpTable(t, path, "connections"); !strings.Contains(raw, legacyTok.RefreshToken) {
		t.Fatalf("without a key the token should be stored plain (legacy); raw rows:\n%s", raw)
	}

	kr := keyring(t, "k1", 1)
	s = open(t, path, sqlitestore.WithSealer(kr))
	c, err := s.GetConnection(ctx, "a")
	if err != nil || c.Token.AccessToken != legacyTok.AccessToken || c.Token.RefreshToken != legacyTok.RefreshToken {
		t.Fatalf("a legacy plain row with a keyring: %v; want the tokens as stored", err)
	}
	if err := s.PutConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	closeStore(t, s)
	raw := dumpTable(t, path, "connections")
	if strings.Contains(raw, legacyTok.AccessToken) || strings.Contains(raw, legacyTok.RefreshToken) || strings.Count(raw, hubsync.SealedPrefix) != 2 {
		t.Fatalf("after a write with a keyring the tokens should be sealed; raw rows:\n%s", raw)
	}

	s = open(t, path)
	defer closeStore(t, s)
	_, err = s.GetConnection(ctx, "a")
	if !errors.Is(err, hubsync.ErrUnseal) || strings.Contains(err.Error(), "legacy") {
		t.Fatalf("a sealed row without a key: err = %v; want ErrUnseal without the token", err)
	}
}

// TestSealedTokenCopiedToAnotherSchool: a sealed token copied into another school's row, or into
// the other column, does not open there.
func TestSealedTokenCopiedToAnotherSchool(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hubsync.db")
	s := open(t, path, sqlitestore.WithSealer(keyring(t, "k1", 1)))
	defer closeStore(t, s)
	for _, school := range []hubsync.SchoolID{"a", "b"} {
		if err := s.PutConnection(ctx, hubsync.Connection{School: school, Token: hubsync.Token{AccessToken: "at-" + string(school), RefreshToken: "rt-" + string(school)}}); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `UPDATE connections SET access_token = (SELECT access_token FROM connections WHERE school = 'a') WHERE school = 'b'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE connections SET refresh_token = access_token WHERE school = 'a'`); err != nil {
		t.Fatal(err)
	}
	for _, school := range []hubsync.SchoolID{"a", "b"} {
		_, err := s.GetConnection(ctx, school)
		if !errors.Is(err, hubsync.ErrUnseal) || strings.Contains(err.Error(), "at-a") {
			t.Errorf("school %s with a copied sealed token: err = %v; want ErrUnseal", school, err)
		}
	}
}

// TestFileModes: a new database file and its -wal and -shm files are 0600; a file the operator
// created keeps its mode.
func TestFileModes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "new.db")
	s := open(t, path)
	if err := s.PutConnection(t.Context(), hubsync.Connection{School: "a", Token: legacyTok}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := st.Mode().Perm(); m != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(p), m)
		}
	}
	closeStore(t, s)

	chosen := filepath.Join(dir, "chosen.db")
	if err := os.WriteFile(chosen, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(chosen, 0o640); err != nil { // the umask may have narrowed it
		t.Fatal(err)
	}
	closeStore(t, open(t, chosen))
	if st, err := os.Stat(chosen); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("an existing file's mode changed: %v, %v; want 0640 kept", st.Mode().Perm(), err)
	}
}

// TestFileHoldsNoToken is the "grep" check: every byte of the database file and its write-ahead
// log, after connections were written, refreshed and re-sealed under a new key, holds no token.
func TestFileHoldsNoToken(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hubsync.db")
	k1, _ := seal.NewKey("k1", bytes.Repeat([]byte{1}, seal.KeySize))
	k2, _ := seal.NewKey("k2", bytes.Repeat([]byte{2}, seal.KeySize))
	kr1, _ := seal.New(k1)
	kr2, _ := seal.New(k2, k1)
	var toks []string
	s := open(t, path, sqlitestore.WithSealer(kr1))
	for i, school := range []hubsync.SchoolID{"a", "b", "c"} {
		for gen := range 3 {
			tok := hubsync.Token{AccessToken: "CJSPgrepAccess" + string(school) + string(rune('0'+gen)) + "Zx81", RefreshToken: "na1-grep-refresh-" + string(school) + "-77aa"}
			toks = append(toks, tok.AccessToken, tok.RefreshToken)
			if err := s.PutConnection(ctx, hubsync.Connection{School: school, Token: tok, PortalID: int64(i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	grep := func(when string) {
		t.Helper()
		for _, p := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, tok := range toks {
				if bytes.Contains(b, []byte(tok)) {
					t.Errorf("%s: %s holds a token", when, filepath.Base(p))
				}
			}
		}
	}
	grep("while open")
	closeStore(t, s)
	s = open(t, path, sqlitestore.WithSealer(kr2))
	if rep, err := hubsync.ResealConnections(ctx, s); err != nil || rep.Connections != 3 {
		t.Fatalf("ResealConnections = %+v, %v", rep, err)
	}
	grep("after reseal")
	closeStore(t, s)
	grep("closed")
	// The test would pass on an empty file: make sure the rows are there.
	if raw := dumpTable(t, path, "connections"); strings.Count(raw, hubsync.SealedPrefix) != 6 {
		t.Fatalf("want 6 sealed tokens in the file; raw rows:\n%s", raw)
	}
}

// TestVacuumScrubsPlainTokens: tokens written plain, then sealed by ResealConnections, are still
// in the file's old pages or write-ahead log until Vacuum, and gone after it.
func TestVacuumScrubsPlainTokens(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hubsync.db")
	s := open(t, path)
	if err := s.PutConnection(ctx, hubsync.Connection{School: "a", Token: legacyTok}); err != nil {
		t.Fatal(err)
	}
	closeStore(t, s)
	holds := func() bool {
		t.Helper()
		found := false
		for _, p := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(p)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			}
			found = found || bytes.Contains(b, []byte(legacyTok.RefreshToken))
		}
		return found
	}
	s = open(t, path, sqlitestore.WithSealer(keyring(t, "k1", 1)))
	defer closeStore(t, s)
	if _, err := hubsync.ResealConnections(ctx, s); err != nil {
		t.Fatal(err)
	}
	if !holds() {
		t.Log("the plain token was already gone before Vacuum (SQLite reused its page)")
	}
	if err := s.Vacuum(ctx); err != nil {
		t.Fatal(err)
	}
	if holds() {
		t.Fatal("after Vacuum the file or its log still holds the plain token")
	}
	if c, err := s.GetConnection(ctx, "a"); err != nil || c.Token.RefreshToken != legacyTok.RefreshToken {
		t.Fatalf("after Vacuum: %v", err)
	}
}
