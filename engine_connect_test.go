package hubsync_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
)

// TestStateUsedOnce checks an authorize state completes one connect only: the same callback
// replayed (a second tab, a captured URL) is refused with ErrBadState, even with a fresh code.
func TestStateUsedOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	u, err := h.eng.AuthorizeURL(school)
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	state := pu.Query().Get("state")
	if _, err := h.eng.CompleteConnect(h.ctx, school, h.hs.AuthorizeCode(redirect), state); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.CompleteConnect(h.ctx, school, h.hs.AuthorizeCode(redirect), state); !errors.Is(err, hubsync.ErrBadState) {
		t.Fatalf("the state used a second time: %v, want ErrBadState", err)
	}
	// StateSchool only reads a state: it still names the school (a host routes with it).
	if got, err := h.eng.StateSchool(state); err != nil || got != school {
		t.Fatalf("StateSchool after use = %q, %v", got, err)
	}
}

// TestNewRefusesStateOutlivingItsRecord checks New refuses a StateTTL at or past the webhook
// retention: the record of a used state would be pruned while the state is still valid.
func TestNewRefusesStateOutlivingItsRecord(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := h.config(h.store, h.lms)
	cfg.StateTTL = hubsync.WebhookRetentionDefault
	if _, err := hubsync.New(cfg); !errors.Is(err, hubsync.ErrInvalidSettings) || !strings.Contains(err.Error(), "StateTTL") {
		t.Fatalf("New with StateTTL = retention: %v", err)
	}
	cfg.StateTTL = time.Hour
	if _, err := hubsync.New(cfg); err != nil {
		t.Fatalf("New with StateTTL of an hour: %v", err)
	}
}

// FuzzStateSchool checks the OAuth state parser on any input: it never panics, refuses with
// ErrBadState, accepts the states the engine issued (naming their school), and refuses an
// accepted state with its signature changed.
func FuzzStateSchool(f *testing.F) {
	h := newHarness(f)
	h.freeze() // the states must not expire while fuzzing
	f.Cleanup(h.thaw)
	issued := map[string]hubsync.SchoolID{}
	for _, s := range []hubsync.SchoolID{school, "other", "ü-school", "a.b.c"} {
		u, err := h.eng.AuthorizeURL(s)
		if err != nil {
			f.Fatal(err)
		}
		pu, _ := url.Parse(u)
		st := pu.Query().Get("state")
		issued[st] = s
		f.Add(st)
	}
	for _, s := range []string{"", ".", "forged.state", "YQ.1.00.x", "YQ.99999999999999999999.00.AAAA", strings.Repeat(".", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, state string) {
		got, err := h.eng.StateSchool(state)
		if err != nil && !errors.Is(err, hubsync.ErrBadState) {
			t.Fatalf("StateSchool(%q) = %v, want ErrBadState", state, err)
		}
		if want, ok := issued[state]; ok && (err != nil || got != want) {
			t.Fatalf("StateSchool(issued %q) = %q, %v; want %q", state, got, err, want)
		}
		if err != nil {
			return
		}
		// Accepted (issued here, or by the same app in another fuzz worker): the school is the
		// one it encodes, and the same state with its signature changed is refused.
		parts := strings.Split(state, ".")
		if len(parts) != 4 {
			t.Fatalf("StateSchool accepted %q, not school.expiry.nonce.mac", state)
		}
		last := "A" // the signature's last character, changed
		if state[len(state)-1] == 'A' {
			last = "B"
		}
		forged := state[:len(state)-1] + last
		if _, err := h.eng.StateSchool(forged); err == nil {
			t.Fatalf("StateSchool accepted %q, %q with its signature changed", state, forged)
		}
	})
}
