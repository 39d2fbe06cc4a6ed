package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"
)

// testKeyText is a key as an operator writes it: ID:base64 of 32 bytes, every byte n.
func testKeyText(id string, n byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{n}, 32))
}

// fileHolds reports whether the store's file or its write-ahead log holds s: the "grep".
func (f *fixture) fileHolds(t *testing.T, s string) bool {
	t.Helper()
	for _, p := range []string{f.db, f.db + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}

const noKeyWarning = "warning: no token key"

// TestResealAndKeys: without a key a command warns once and stores tokens plain; reseal seals
// them (and the SQLite file no longer holds them); a wrong key fails naming the key id and no
// token; rotation with an old key, and a key file, move every token to the new key.
func TestResealAndKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.tokenKey = "" // start as a store written without a key
	_, refresh := f.hs.MintToken()
	r := f.run(t, "connect", "--refresh-token", refresh)
	if r.code != 0 {
		t.Fatalf("connect: exit %d: %s", r.code, r.stderr)
	}
	if n := strings.Count(r.stderr, noKeyWarning); n != 1 {
		t.Fatalf("connect without a key warned %d times, want once:\n%s", n, r.stderr)
	}
	if !f.fileHolds(t, refresh) {
		t.Fatal("without a key the refresh token should be in the file (plain); the check below would prove nothing")
	}

	if r := f.run(t, "reseal"); r.code != exitUsage || !strings.Contains(r.stderr, "reseal needs the key") {
		t.Fatalf("reseal without a key: exit %d, stderr %q; want 2 saying a key is needed", r.code, r.stderr)
	}

	k1, k2, k3 := testKeyText("k1", 1), testKeyText("k2", 2), testKeyText("k3", 3)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := f.command(ctx, "reseal")
	cmd.Env = append(cmd.Env, "HUBSYNC_TOKEN_KEY="+k1)
	r = runCmd(t, cmd)
	if r.code != 0 || !strings.Contains(r.stdout, "resealed 1 connection(s) and 1 LearnWorlds connection(s) (1 secret(s)) of 1 school(s) under key k1: 3 token(s), 3 of them were plain\n") {
		t.Fatalf("reseal with HUBSYNC_TOKEN_KEY: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, noKeyWarning) {
		t.Errorf("reseal with a key warned: %s", r.stderr)
	}
	if f.fileHolds(t, refresh) {
		t.Fatal("after reseal the SQLite file still holds the refresh token")
	}
	if f.fileHolds(t, f.lw.ClientSecret) { // connect stored the LearnWorlds connection with the school
		t.Fatal("after reseal the SQLite file still holds the LearnWorlds client secret")
	}

	r = f.run(t, "status", "--token-key", k2)
	if r.code != exitFailure || !strings.Contains(r.stderr, `key id "k1"`) || strings.Contains(r.stderr, refresh) {
		t.Fatalf("status with another key: exit %d, stderr %q; want 1 naming key k1", r.code, r.stderr)
	}
	r = f.run(t, "status")
	if r.code != exitFailure || !strings.Contains(r.stderr, "no key") || strings.Count(r.stderr, noKeyWarning) != 1 {
		t.Fatalf("status without a key on a sealed store: exit %d, stderr %q; want 1, one warning, saying no key", r.code, r.stderr)
	}

	r = f.run(t, "reseal", "--token-key", k2, "--token-keys-old", k1)
	if r.code != 0 || !strings.Contains(r.stdout, "under key k2: 3 token(s), 0 of them were plain, 3 under key k1\n") {
		t.Fatalf("reseal k1 -> k2: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if r := f.run(t, "status", "--token-key", k2, "--school", "default"); r.code != 0 || !strings.Contains(r.stdout, "connected") {
		t.Fatalf("status with k2 alone after the reseal: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}

	keyFile := f.writeFile(t, "tokens.keys", "# current first\n"+k3+"\n"+k2+"\n")
	r = f.run(t, "reseal", "--token-key-file", keyFile)
	if r.code != 0 || !strings.Contains(r.stdout, "under key k3: 3 token(s), 0 of them were plain, 3 under key k2\n") || strings.Contains(r.stderr, "readable by others") {
		t.Fatalf("reseal with a key file: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if r := f.run(t, "status", "--token-key", k3); r.code != 0 {
		t.Fatalf("status with k3: exit %d: %s", r.code, r.stderr)
	}
	if f.fileHolds(t, refresh) {
		t.Fatal("the SQLite file holds the refresh token")
	}
}

// TestTokenKeyErrors: a malformed key, both key sources, or old keys without a current one are
// usage errors (exit 2) whose message never shows the key text.
func TestTokenKeyErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.tokenKey = ""
	short := "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 16))
	keyFile := f.writeFile(t, "k.keys", testKeyText("a", 1)+"\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--token-key", short}, "decodes (base64) to 16 bytes; want exactly 32"},
		{[]string{"--token-key", testKeyText("k1", 1), "--token-key-file", keyFile}, "not both"},
		{[]string{"--token-keys-old", testKeyText("k1", 1)}, "needs a current key"},
		{[]string{"--token-key", testKeyText("k1", 1), "--token-keys-old", testKeyText("k1", 2)}, `two keys have the id "k1"`},
	} {
		r := f.run(t, append([]string{"status"}, c.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("status %v: exit %d, stderr %q; want 2 saying %q", c.args, r.code, r.stderr, c.want)
		}
		if strings.Contains(r.stderr, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 16))) ||
			strings.Contains(r.stderr, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))) {
			t.Errorf("status %v: the error shows a key: %s", c.args, r.stderr)
		}
	}
}
