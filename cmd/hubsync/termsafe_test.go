package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot"
)

func TestTermSafe(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"plain text, ü and 日本", "plain text, ü and 日本"},
		{"two\nlines\r\tand a tab", "two lines  and a tab"},
		{"\x1b]0;owned\x07title", "]0;ownedtitle"},
		{"\x1b[2J\x1b[31mred", "[2J[31mred"},
		{"c1 \u009b31m csi", "c1 31m csi"},
		{"del\x7f", "del"},
		{"bidi \u202eevil\u202c", "bidi evil"},
		{"bad \xff byte", "bad \uFFFD byte"},
	} {
		if got := termSafe(tt.in); got != tt.want {
			t.Errorf("termSafe(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestExplainStripsControls checks the one line an error becomes holds no control character,
// whatever HubSpot's message carried.
func TestExplainStripsControls(t *testing.T) {
	t.Parallel()
	err := &hubspot.APIError{StatusCode: 500, Category: "X", Message: "boom\x1b]0;pwned\x07\nnext"}
	got := explain(err)
	if strings.ContainsAny(got, "\x1b\x07\n") {
		t.Fatalf("explain kept control characters: %q", got)
	}
}

// stateEngine accepts one state, for the callback's tests.
type stateEngine struct {
	completed int
	used      bool
}

func (e *stateEngine) StateSchool(state string) (hubsync.SchoolID, error) {
	if state != "good-state" {
		return "", hubsync.ErrBadState
	}
	return "default", nil
}

func (e *stateEngine) CompleteConnect(_ context.Context, _ hubsync.SchoolID, code, _ string) (hubsync.Connection, error) {
	if e.used {
		return hubsync.Connection{}, hubsync.ErrBadState
	}
	e.used = true
	e.completed++
	if code == "" {
		return hubsync.Connection{}, errors.New("hubsync: empty authorization code")
	}
	return hubsync.Connection{School: "default", PortalID: 7}, nil
}

func callback(t testing.TB, eng connectEngine, query string) (int, *connectResult) {
	done := make(chan connectResult, 1)
	r := httptest.NewRequest(http.MethodGet, "/oauth/callback", nil)
	r.URL.RawQuery = query
	w := httptest.NewRecorder()
	oauthCallback(eng, "default", done).ServeHTTP(w, r)
	select {
	case res := <-done:
		return w.Code, &res
	default:
		return w.Code, nil
	}
}

// TestOAuthCallbackStateFirst checks the callback: without this attempt's state, any callback,
// ?error= included, gets 400 and does not end the command; with it, ?error= ends the command with
// its text made terminal-safe; a used state does not end it either.
func TestOAuthCallbackStateFirst(t *testing.T) {
	t.Parallel()
	eng := &stateEngine{}
	for _, q := range []string{"error=access_denied", "error=x&state=bad", "code=c&state=forged", ""} {
		if code, res := callback(t, eng, q); code != http.StatusBadRequest || res != nil {
			t.Errorf("%q: %d, ended the command: %v", q, code, res != nil)
		}
	}
	code, res := callback(t, eng, "state=good-state&error=access_denied%1b%5b2J&error_description=no%0a%1b%5d0%3bx%07")
	if code != http.StatusBadRequest || res == nil || res.err == nil {
		t.Fatalf("declined with a valid state: %d %+v", code, res)
	}
	if strings.ContainsAny(res.err.Error(), "\x1b\x07\n") || !strings.Contains(res.err.Error(), "access_denied") {
		t.Fatalf("the error shown: %q", res.err)
	}
	if eng.completed != 0 {
		t.Fatal("a declined callback completed the connect")
	}
	if code, res := callback(t, eng, "state=good-state&code=c"); code != http.StatusOK || res == nil || res.err != nil {
		t.Fatalf("the right callback: %d %+v", code, res)
	}
	if code, res := callback(t, eng, "state=good-state&code=c"); code != http.StatusBadRequest || res != nil {
		t.Fatalf("the callback replayed: %d, ended the command: %v", code, res != nil)
	}
}

// FuzzOAuthCallback checks the callback on any query: it never panics, never ends the command
// without the valid state, and whatever it ends the command with prints no control character.
func FuzzOAuthCallback(f *testing.F) {
	for _, q := range []string{"", "state=good-state&code=c", "state=good-state&error=access_denied&error_description=%1b%5b2J",
		"error=x", "state=good-state&state=bad&code=c", "state=bad&state=good-state", "%zz", "state=good-state&error=%ff%fe"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		code, res := callback(t, &stateEngine{}, query)
		_ = code
		if res == nil {
			return
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.RawQuery = query
		if r.URL.Query().Get("state") != "good-state" {
			t.Fatalf("%q ended the command without the valid state", query)
		}
		if res.err != nil {
			msg := res.err.Error()
			if termSafe(msg) != msg || !utf8.ValidString(msg) {
				t.Fatalf("%q ends the command with unsafe text %q", query, msg)
			}
		}
	})
}

// FuzzTermSafe checks termSafe's output is valid UTF-8 with no control or bidi character, that it
// is idempotent, and that safe text passes unchanged.
func FuzzTermSafe(f *testing.F) {
	for _, s := range []string{"", "ok", "\x1b[31m", "\u202e", "\xff", "a\nb", "\u0085"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := termSafe(s)
		if !utf8.ValidString(out) {
			t.Fatalf("termSafe(%q) = %q: invalid UTF-8", s, out)
		}
		for _, r := range out {
			if unsafeRune(r) {
				t.Fatalf("termSafe(%q) = %q keeps %U", s, out, r)
			}
		}
		if termSafe(out) != out {
			t.Fatalf("termSafe is not idempotent on %q", s)
		}
		if utf8.ValidString(s) && !strings.ContainsFunc(s, unsafeRune) && out != s {
			t.Fatalf("termSafe changed safe text %q to %q", s, out)
		}
	})
}
