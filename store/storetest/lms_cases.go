package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
)

// The cases of hubsync.LMSConnections, for a store that implements it (Run skips them for one
// that does not): round trip and replace, ErrNotFound, delete, two schools, ListSchools, the
// checks of PutLMSConnection, and RunInTx.
var lmsCases = []testCase{
	{"RoundTrip", testLMSRoundTrip},
	{"NotFoundAndDelete", testLMSDelete},
	{"TwoSchools", testLMSTwoSchools},
	{"ListSchools", testLMSListSchools},
	{"Invalid", testLMSInvalid},
	{"InTx", testLMSInTx},
}

// lmsOf returns x's store as hubsync.LMSConnections, or skips t.
func lmsOf(t *testing.T, s hubsync.Store) hubsync.LMSConnections {
	t.Helper()
	l, ok := s.(hubsync.LMSConnections)
	if !ok {
		t.Skip("the store does not implement hubsync.LMSConnections")
	}
	return l
}

// suiteLMS is an LMS connection whose secrets are distinctive, so a search of the raw rows finds
// any copy of them (or of a long piece of one).
func suiteLMS(school string) hubsync.LMSConnection {
	return hubsync.LMSConnection{
		School:        hubsync.SchoolID(school),
		BaseURL:       "https://" + school + ".lms.example",
		ClientID:      "client-id-" + school,
		ClientSecret:  "lwsecret-" + school + "-R8vQ2mZk5Tn1Hw7Ya4",
		AccessToken:   "lwtoken-" + school + "-P3xD9cF6bJ2eL8sV",
		WebhookSecret: "lwhook-" + school + "-N5gK1qW7uE3rT9oA",
		WebhookScheme: hubsync.LMSWebhookHMAC,
	}
}

// lmsSecretsOf are c's secrets, for mustNoSecret.
func lmsSecretsOf(c hubsync.LMSConnection) []string {
	return []string{c.ClientSecret, c.AccessToken, c.WebhookSecret}
}

// mustNoSecret fails t when raw holds any of the secrets, or a 12-character piece of one.
func mustNoSecret(t *testing.T, what, raw string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for i := 0; i+12 <= len(s); i++ {
			if strings.Contains(raw, s[i:i+12]) {
				t.Fatalf("%s: the raw rows hold a secret (its piece %q)", what, s[i:i+12])
			}
		}
	}
}

func testLMSRoundTrip(t *testing.T, x fixture) {
	l := lmsOf(t, x.s)
	c := suiteLMS("lms-rt")
	c.UpdatedAt = epoch.Add(-time.Hour) // ignored: the store stamps its own now
	must(t, "PutLMSConnection", l.PutLMSConnection(x.ctx, c))
	got, err := l.GetLMSConnection(x.ctx, c.School)
	must(t, "GetLMSConnection", err)
	c.UpdatedAt = epoch
	mustEqual(t, "LMS connection", got, c)

	x.clk.Advance(90 * time.Second)
	c.AccessToken, c.WebhookScheme, c.BaseURL = "", hubsync.LMSWebhookStatic, "https://lms-rt.example/admin/api"
	must(t, "PutLMSConnection again", l.PutLMSConnection(x.ctx, c))
	got, err = l.GetLMSConnection(x.ctx, c.School)
	must(t, "GetLMSConnection after a replace", err)
	c.UpdatedAt = epoch.Add(90 * time.Second)
	mustEqual(t, "replaced LMS connection", got, c)
}

func testLMSDelete(t *testing.T, x fixture) {
	l := lmsOf(t, x.s)
	_, err := l.GetLMSConnection(x.ctx, "lms-none")
	mustNotFound(t, "GetLMSConnection of a school without one", err)
	must(t, "DeleteLMSConnection of a missing one", l.DeleteLMSConnection(x.ctx, "lms-none"))
	must(t, "PutLMSConnection", l.PutLMSConnection(x.ctx, suiteLMS("lms-del")))
	must(t, "DeleteLMSConnection", l.DeleteLMSConnection(x.ctx, "lms-del"))
	_, err = l.GetLMSConnection(x.ctx, "lms-del")
	mustNotFound(t, "GetLMSConnection after DeleteLMSConnection", err)
	ids, err := x.s.ListSchools(x.ctx)
	must(t, "ListSchools", err)
	mustEqual(t, "ListSchools after the only LMS connection was deleted", ids, []hubsync.SchoolID(nil))
}

func testLMSTwoSchools(t *testing.T, x fixture) {
	l := lmsOf(t, x.s)
	a, b := suiteLMS("lms-a"), suiteLMS("lms-b")
	must(t, "PutLMSConnection a", l.PutLMSConnection(x.ctx, a))
	must(t, "PutLMSConnection b", l.PutLMSConnection(x.ctx, b))
	a.UpdatedAt, b.UpdatedAt = epoch, epoch
	got, err := l.GetLMSConnection(x.ctx, "lms-b")
	must(t, "GetLMSConnection b", err)
	mustEqual(t, "b", got, b)
	must(t, "DeleteLMSConnection a", l.DeleteLMSConnection(x.ctx, "lms-a"))
	got, err = l.GetLMSConnection(x.ctx, "lms-b")
	must(t, "GetLMSConnection b after a's delete", err)
	mustEqual(t, "b after a's delete", got, b)
	_, err = l.GetLMSConnection(x.ctx, "lms-a")
	mustNotFound(t, "GetLMSConnection a after its delete", err)
}

func testLMSListSchools(t *testing.T, x fixture) {
	l := lmsOf(t, x.s)
	must(t, "PutLMSConnection", l.PutLMSConnection(x.ctx, suiteLMS("lms-only")))
	must(t, "PutLMSConnection", l.PutLMSConnection(x.ctx, suiteLMS("lms-both")))
	must(t, "PutSettings", x.s.PutSettings(x.ctx, "lms-both", hubsync.Settings{}))
	must(t, "PutConnection", x.s.PutConnection(x.ctx, hubsync.Connection{School: "lms-conn", Active: true, Token: hubsync.Token{AccessToken: "a"}}))
	ids, err := x.s.ListSchools(x.ctx)
	must(t, "ListSchools", err)
	mustEqual(t, "ListSchools", ids, []hubsync.SchoolID{"lms-both", "lms-conn", "lms-only"})
}

func testLMSInvalid(t *testing.T, x fixture) {
	l := lmsOf(t, x.s)
	for _, c := range []struct {
		name string
		edit func(*hubsync.LMSConnection)
	}{
		{"empty school", func(c *hubsync.LMSConnection) { c.School = "" }},
		{"relative base URL", func(c *hubsync.LMSConnection) { c.BaseURL = "school.example" }},
		{"no client id", func(c *hubsync.LMSConnection) { c.ClientID = "" }},
		{"no secret nor token", func(c *hubsync.LMSConnection) { c.ClientSecret, c.AccessToken = "", "" }},
		{"unknown scheme", func(c *hubsync.LMSConnection) { c.WebhookScheme = "md5" }},
		{"a secret that looks sealed", func(c *hubsync.LMSConnection) { c.WebhookSecret = hubsync.SealedPrefix + "x" }},
	} {
		conn := suiteLMS("lms-bad")
		c.edit(&conn)
		err := l.PutLMSConnection(x.ctx, conn)
		if !errors.Is(err, hubsync.ErrInvalidValue) {
			t.Fatalf("PutLMSConnection with %s: err = %v, want one wrapping hubsync.ErrInvalidValue", c.name, err)
		}
		mustNoSecret(t, "the error", err.Error(), lmsSecretsOf(suiteLMS("lms-bad"))...)
	}
	_, err := l.GetLMSConnection(x.ctx, "lms-bad")
	mustNotFound(t, "GetLMSConnection after refused puts", err)
}

func testLMSInTx(t *testing.T, x fixture) {
	lmsOf(t, x.s)
	tr, ok := x.s.(hubsync.Transactor)
	if !ok {
		t.Skip("the store is not a hubsync.Transactor")
	}
	errRollback := errors.New("storetest: roll back")
	err := tr.RunInTx(x.ctx, func(ctx context.Context, s hubsync.Store, _ hubsync.Queue) error {
		l, ok := s.(hubsync.LMSConnections)
		if !ok {
			t.Error("the Store RunInTx hands to fn does not implement hubsync.LMSConnections")
			return errRollback
		}
		if err := l.PutLMSConnection(ctx, suiteLMS("lms-tx")); err != nil {
			return err
		}
		if _, err := l.GetLMSConnection(ctx, "lms-tx"); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("RunInTx: err = %v, want the function's", err)
	}
	_, err = lmsOf(t, x.s).GetLMSConnection(x.ctx, "lms-tx")
	mustNotFound(t, "GetLMSConnection after a rolled-back RunInTx", err)
	must(t, "RunInTx", tr.RunInTx(x.ctx, func(ctx context.Context, s hubsync.Store, _ hubsync.Queue) error {
		return s.(hubsync.LMSConnections).PutLMSConnection(ctx, suiteLMS("lms-tx"))
	}))
	_, err = lmsOf(t, x.s).GetLMSConnection(x.ctx, "lms-tx")
	must(t, "GetLMSConnection after a committed RunInTx", err)
}

// The sealing cases of LMS connections (RunSealing).

func testSealedLMSRaw(t *testing.T, x sealFixture) {
	l := lmsOf(t, x.s)
	c := suiteLMS("s-lms")
	must(t, "PutLMSConnection", l.PutLMSConnection(x.ctx, c))
	raw := x.raw()
	if !strings.Contains(raw, "client-id-s-lms") || !strings.Contains(raw, "s-lms.lms.example") {
		t.Fatal("the raw rows do not hold the LMS connection written: RawConnections does not read it")
	}
	mustNoSecret(t, "after PutLMSConnection", raw, lmsSecretsOf(c)...)
	mustKeyIDs(t, "after PutLMSConnection", raw, 3, "suite-k1")
	got, err := l.GetLMSConnection(x.ctx, c.School)
	must(t, "GetLMSConnection", err)
	c.UpdatedAt = epoch
	mustEqual(t, "LMS connection", got, c)
}

func testSealedLMSReseal(t *testing.T, x sealFixture) {
	l := lmsOf(t, x.s)
	c := suiteLMS("s-lms-re")
	c.AccessToken = "" // stays empty: nothing to seal
	must(t, "PutLMSConnection", l.PutLMSConnection(x.ctx, c))
	mustKeyIDs(t, "under k1", x.raw(), 2, "suite-k1")

	x.sw.set(suiteKeyring(t, "suite-k3", 3))
	_, err := l.GetLMSConnection(x.ctx, c.School)
	if !errors.Is(err, hubsync.ErrUnseal) {
		t.Fatalf("GetLMSConnection with a keyring missing the secrets' key: err = %v, want one wrapping hubsync.ErrUnseal", err)
	}
	mustNoSecret(t, "the error", err.Error(), lmsSecretsOf(c)...)

	x.sw.set(suiteKeyring(t, "suite-k2", 2, suiteKey(t, "suite-k1", 1)))
	rep, err := hubsync.ResealConnections(x.ctx, x.s)
	must(t, "ResealConnections", err)
	mustEqual(t, "reseal report", rep, hubsync.ResealReport{Schools: 1, LMSConnections: 1, Secrets: 2})
	mustKeyIDs(t, "after ResealConnections", x.raw(), 2, "suite-k2")
	x.sw.set(suiteKeyring(t, "suite-k2", 2))
	got, err := l.GetLMSConnection(x.ctx, c.School)
	must(t, "GetLMSConnection, k2 alone", err)
	if got.ClientSecret != c.ClientSecret || got.WebhookSecret != c.WebhookSecret || got.AccessToken != "" {
		t.Fatal("GetLMSConnection after ResealConnections returned other secrets than were put")
	}
	mustNoSecret(t, "after ResealConnections", x.raw(), lmsSecretsOf(c)...)
}

func testSealerFailsLMS(t *testing.T, x sealFixture) {
	l := lmsOf(t, x.s)
	c := suiteLMS("s-lms-fail")
	x.sw.set(failSealer{})
	err := l.PutLMSConnection(x.ctx, c)
	if !errors.Is(err, errSuiteSeal) {
		t.Fatalf("PutLMSConnection with a failing Sealer: err = %v, want the Sealer's error", err)
	}
	mustNoSecret(t, "the error", err.Error(), lmsSecretsOf(c)...)
	x.sw.set(suiteKeyring(t, "suite-k1", 1))
	_, err = l.GetLMSConnection(x.ctx, c.School)
	mustNotFound(t, "GetLMSConnection after a failed PutLMSConnection", err)
}
