package storetest

import (
	"context"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/seal"
)

// RawConnections returns what the store under test holds for connections, read past its
// methods, as text: for a SQL store every column of every row of its connections table (SELECT *
// as text) and, when it implements hubsync.LMSConnections, of its LMS connections table; for
// another store whatever it keeps of them. RunSealing searches it for tokens and secrets.
type RawConnections func(t testing.TB, s hubsync.Store) string

// RunSealing checks a store that seals tokens at rest. f must pass cfg.Sealer to the store it
// builds; raw reads the stored connections past the store's methods. Each case is a parallel
// subtest with its own store, and checks that:
//
//   - no access or refresh token appears in the raw rows, written directly or inside RunInTx,
//     while GetConnection returns them unchanged;
//   - rotation works: after the keyring gains a new current key, tokens sealed under the old one
//     still open, the next write seals under the new one, and a keyring without the key a token
//     was sealed with fails GetConnection with an error wrapping hubsync.ErrUnseal that shows no
//     token;
//   - hubsync.ResealConnections moves every connection to the current key;
//   - a Sealer that fails makes PutConnection fail and writes nothing;
//   - for a store that implements hubsync.LMSConnections, the same of the LMS connections'
//     secrets: none in the raw rows, a missing key fails GetLMSConnection with ErrUnseal,
//     ResealConnections moves them to the current key, a failing Sealer writes nothing.
//
// The stored form, and the legacy plain tokens written before a store had a Sealer, are each
// store's own tests: the suite's stores start empty.
func RunSealing(t *testing.T, f Factory, raw RawConnections) {
	t.Helper()
	t.Run("Sealing", func(t *testing.T) {
		t.Parallel()
		for _, c := range sealingCases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				sw := &switchSealer{s: suiteKeyring(t, "suite-k1", 1)}
				clk := clock.NewFake(epoch)
				s, q := f(t, Config{Clock: clk, MaxAttempts: suiteMaxAttempts, Sealer: sw})
				if s == nil || q == nil {
					t.Fatal("storetest: the factory returned a nil Store or Queue")
				}
				c.fn(t, sealFixture{fixture: fixture{s: s, q: q, clk: clk, ctx: t.Context()}, sw: sw, raw: func() string { return raw(t, s) }})
			})
		}
	})
}

type sealFixture struct {
	fixture
	sw  *switchSealer
	raw func() string
}

var sealingCases = []struct {
	name string
	fn   func(t *testing.T, x sealFixture)
}{
	{"NoTokenInRawRows", testSealedRaw},
	{"Rotation", testSealedRotation},
	{"Reseal", testSealedReseal},
	{"FailingSealerWritesNothing", testSealerFails},
	{"LMSNoSecretInRawRows", testSealedLMSRaw},
	{"LMSRotationAndReseal", testSealedLMSReseal},
	{"LMSFailingSealerWritesNothing", testSealerFailsLMS},
}

// switchSealer is the suite's Sealer: the case swaps the Sealer behind it to rotate keys.
type switchSealer struct {
	mu sync.Mutex
	s  hubsync.Sealer
}

func (w *switchSealer) set(s hubsync.Sealer) { w.mu.Lock(); w.s = s; w.mu.Unlock() }

func (w *switchSealer) get() hubsync.Sealer { w.mu.Lock(); defer w.mu.Unlock(); return w.s }

func (w *switchSealer) Seal(ctx context.Context, plaintext, aad []byte) ([]byte, error) {
	return w.get().Seal(ctx, plaintext, aad)
}

func (w *switchSealer) Open(ctx context.Context, sealed, aad []byte) ([]byte, error) {
	return w.get().Open(ctx, sealed, aad)
}

// suiteKey is a fixed test key (never a real one): every byte is n.
func suiteKey(t testing.TB, id string, n byte) seal.Key {
	t.Helper()
	k, err := seal.NewKey(id, []byte(strings.Repeat(string(rune(n)), seal.KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func suiteKeyring(t testing.TB, id string, n byte, old ...seal.Key) *seal.Keyring {
	t.Helper()
	kr, err := seal.New(suiteKey(t, id, n), old...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// suiteToken is a token set whose every part is distinctive, so a search of the raw rows finds
// any copy of it (or of a long piece of it).
func suiteToken(school string) hubsync.Token {
	return hubsync.Token{
		AccessToken:  "CJSPaccess-" + school + "-Xq7Zr2Lm9Wv4Tn8Kp3Hb6Yd1",
		RefreshToken: "na1-refresh-" + school + "-5fE2aC9dB7eF1a3C",
		Expiry:       epoch.Add(30 * 60e9),
	}
}

// mustNoToken fails t when raw holds any of the tokens, or a 12-character piece of one.
func mustNoToken(t *testing.T, what, raw string, toks ...hubsync.Token) {
	t.Helper()
	for _, tok := range toks {
		for _, s := range []string{tok.AccessToken, tok.RefreshToken} {
			for i := 0; i+12 <= len(s); i++ {
				if strings.Contains(raw, s[i:i+12]) {
					t.Fatalf("%s: the raw rows hold a token (its piece %q)", what, s[i:i+12])
				}
			}
		}
	}
}

var sealedValue = regexp.MustCompile(regexp.QuoteMeta(hubsync.SealedPrefix) + `([A-Za-z0-9_-]+)`)

// keyIDs returns the key ids of the sealed values in raw, in order.
func keyIDs(t *testing.T, raw string) []string {
	t.Helper()
	var ids []string
	for _, m := range sealedValue.FindAllStringSubmatch(raw, -1) {
		b, err := base64.RawURLEncoding.DecodeString(m[1])
		if err != nil {
			t.Fatalf("a sealed value in the raw rows is not base64url: %v", err)
		}
		id, err := seal.KeyID(b)
		if err != nil {
			t.Fatalf("a sealed value in the raw rows: %v", err)
		}
		ids = append(ids, id)
	}
	return ids
}

func mustKeyIDs(t *testing.T, what, raw string, n int, want string) {
	t.Helper()
	ids := keyIDs(t, raw)
	if len(ids) != n {
		t.Fatalf("%s: the raw rows hold %d sealed values, want %d", what, len(ids), n)
	}
	for _, id := range ids {
		if id != want {
			t.Fatalf("%s: key ids %v, want all %q", what, ids, want)
		}
	}
}

func mustToken(t *testing.T, x sealFixture, what string, school hubsync.SchoolID, want hubsync.Token) {
	t.Helper()
	c, err := x.s.GetConnection(x.ctx, school)
	must(t, what+": GetConnection", err)
	if c.Token.AccessToken != want.AccessToken || c.Token.RefreshToken != want.RefreshToken || !c.Token.Expiry.Equal(want.Expiry) {
		t.Fatalf("%s: GetConnection returned other tokens than were put", what)
	}
}

func testSealedRaw(t *testing.T, x sealFixture) {
	a, b := suiteToken("s-sealed-a"), suiteToken("s-sealed-b")
	must(t, "PutConnection", x.s.PutConnection(x.ctx, hubsync.Connection{School: "s-sealed-a", Token: a, Active: true, PortalID: 7, Domain: "a.example"}))
	n := 2
	if tr, ok := x.s.(hubsync.Transactor); ok {
		must(t, "PutConnection in RunInTx", tr.RunInTx(x.ctx, func(ctx context.Context, s hubsync.Store, _ hubsync.Queue) error {
			return s.PutConnection(ctx, hubsync.Connection{School: "s-sealed-b", Token: b, Active: true})
		}))
		n = 4
		mustToken(t, x, "written in RunInTx", "s-sealed-b", b)
	}
	mustToken(t, x, "written directly", "s-sealed-a", a)
	raw := x.raw()
	if !strings.Contains(raw, "s-sealed-a") || !strings.Contains(raw, "a.example") {
		t.Fatal("the raw rows do not hold the connection written: RawConnections reads something else")
	}
	mustNoToken(t, "after PutConnection", raw, a, b)
	mustKeyIDs(t, "after PutConnection", raw, n, "suite-k1")
}

func testSealedRotation(t *testing.T, x sealFixture) {
	tok := suiteToken("s-rot")
	must(t, "PutConnection under k1", x.s.PutConnection(x.ctx, hubsync.Connection{School: "s-rot", Token: tok, Active: true}))
	mustKeyIDs(t, "under k1", x.raw(), 2, "suite-k1")

	k1 := suiteKey(t, "suite-k1", 1)
	x.sw.set(suiteKeyring(t, "suite-k2", 2, k1))
	mustToken(t, x, "k2 current, k1 old", "s-rot", tok)
	tok.AccessToken += "-refreshed"
	must(t, "PutConnection with k2 current", x.s.PutConnection(x.ctx, hubsync.Connection{School: "s-rot", Token: tok, Active: true}))
	mustKeyIDs(t, "after a write with k2 current", x.raw(), 2, "suite-k2")

	x.sw.set(suiteKeyring(t, "suite-k2", 2))
	mustToken(t, x, "k2 alone", "s-rot", tok)

	x.sw.set(suiteKeyring(t, "suite-k3", 3))
	_, err := x.s.GetConnection(x.ctx, "s-rot")
	if !errors.Is(err, hubsync.ErrUnseal) {
		t.Fatalf("GetConnection with a keyring missing the token's key: err = %v, want one wrapping hubsync.ErrUnseal", err)
	}
	mustNoToken(t, "the error", err.Error(), tok)
	mustNoToken(t, "after rotation", x.raw(), tok)
}

func testSealedReseal(t *testing.T, x sealFixture) {
	a, b := suiteToken("s-re-a"), suiteToken("s-re-b")
	b.RefreshToken = ""
	must(t, "PutConnection a", x.s.PutConnection(x.ctx, hubsync.Connection{School: "s-re-a", Token: a, Active: true}))
	must(t, "PutConnection b", x.s.PutConnection(x.ctx, hubsync.Connection{School: "s-re-b", Token: b}))
	must(t, "PutSettings of a school without a connection", x.s.PutSettings(x.ctx, "s-re-c", hubsync.Settings{}))
	x.sw.set(suiteKeyring(t, "suite-k2", 2, suiteKey(t, "suite-k1", 1)))
	rep, err := hubsync.ResealConnections(x.ctx, x.s)
	must(t, "ResealConnections", err)
	mustEqual(t, "reseal report", rep, hubsync.ResealReport{Schools: 3, Connections: 2, Tokens: 3})
	mustKeyIDs(t, "after ResealConnections", x.raw(), 3, "suite-k2")
	x.sw.set(suiteKeyring(t, "suite-k2", 2))
	mustToken(t, x, "a, k2 alone", "s-re-a", a)
	mustToken(t, x, "b, k2 alone", "s-re-b", b)
	mustNoToken(t, "after ResealConnections", x.raw(), a, b)
}

// failSealer refuses to seal, as a host's key service might when it is down.
type failSealer struct{}

var errSuiteSeal = errors.New("storetest: sealing refused on purpose")

func (failSealer) Seal(context.Context, []byte, []byte) ([]byte, error) { return nil, errSuiteSeal }
func (failSealer) Open(context.Context, []byte, []byte) ([]byte, error) { return nil, errSuiteSeal }

func testSealerFails(t *testing.T, x sealFixture) {
	tok := suiteToken("s-fail")
	x.sw.set(failSealer{})
	err := x.s.PutConnection(x.ctx, hubsync.Connection{School: "s-fail", Token: tok, Active: true})
	if !errors.Is(err, errSuiteSeal) {
		t.Fatalf("PutConnection with a failing Sealer: err = %v, want the Sealer's error", err)
	}
	mustNoToken(t, "the error", err.Error(), tok)
	x.sw.set(suiteKeyring(t, "suite-k1", 1))
	_, err = x.s.GetConnection(x.ctx, "s-fail")
	mustNotFound(t, "GetConnection after a failed PutConnection", err)
	mustNoToken(t, "after a failed PutConnection", x.raw(), tok)
}
