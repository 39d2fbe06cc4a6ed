package hubsync_test

import (
	"testing"

	"github.com/hubsync/hubsync"
)

// TestSentFingerprintsThroughTheEngine: with values long enough to be recorded as fingerprints,
// an unchanged learner costs no HubSpot call and a changed value goes out; a state an older
// hubsync stored (the values themselves, no format key) is diffed as well, and the next write
// converts it.
func TestSentFingerprintsThroughTheEngine(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping})
	learner := func(email, country string) hubsync.Learner {
		return hubsync.Learner{Email: email, Values: map[string]any{"first_name": "Konstantina-Maria", "country": country, "phone": "+30 6900000123"}}
	}
	unchanged := func(what string, l hubsync.Learner) {
		t.Helper()
		calls := h.hs.Stats().Requests
		h.change(l)
		h.run()
		if got := h.hs.Stats().Requests; got != calls {
			t.Errorf("%s: unchanged learner cost %d HubSpot calls", what, got-calls)
		}
	}

	h.change(learner("new@example.com", "United Kingdom"))
	h.run()
	st, err := h.store.GetSyncState(h.ctx, school, "new@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if st.SentToHubSpot["~"] != "1" || len(st.SentToHubSpot["firstname"]) != 12 || st.SentToHubSpot["firstname"] == "Konstantina-Maria" {
		t.Fatalf("sent to HubSpot = %q, want format 1 with fingerprints", st.SentToHubSpot)
	}
	unchanged("format 1", learner("new@example.com", "United Kingdom"))
	h.change(learner("new@example.com", "United States"))
	h.run()
	if c := h.contact("new@example.com"); c["country"] != "United States" {
		t.Errorf("changed country = %q, want United States", c["country"])
	}

	// A contact and a format-0 state as an older hubsync left them.
	h.change(learner("old@example.com", "United Kingdom"))
	h.run()
	st, err = h.store.GetSyncState(h.ctx, school, "old@example.com")
	if err != nil {
		t.Fatal(err)
	}
	st.SentToHubSpot = map[string]string{"email": "old@example.com", "firstname": "Konstantina-Maria", "country": "United Kingdom", "phone": "+30 6900000123"}
	if err := h.store.PutSyncState(h.ctx, st); err != nil {
		t.Fatal(err)
	}
	unchanged("format 0", learner("old@example.com", "United Kingdom"))
	h.change(learner("old@example.com", "United States"))
	h.run()
	if c := h.contact("old@example.com"); c["country"] != "United States" {
		t.Errorf("changed country = %q, want United States", c["country"])
	}
	st, err = h.store.GetSyncState(h.ctx, school, "old@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if st.SentToHubSpot["~"] != "1" || len(st.SentToHubSpot["firstname"]) != 12 {
		t.Fatalf("after a write, sent to HubSpot = %q, want format 1", st.SentToHubSpot)
	}
	unchanged("converted", learner("old@example.com", "United States"))
}
