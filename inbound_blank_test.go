package hubsync_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/hubsync/hubsync"
)

// Issue 13: an empty HubSpot value never overwrites a learner's value, unless it is an explicit
// clear of a value hubsync itself synced and the learner still holds.

// contactReads counts the HubSpot requests that read contacts (batch reads, single reads,
// listings and searches).
func contactReads(h *harness) int {
	n := 0
	for route, c := range h.hs.Stats().ByRoute {
		if !strings.Contains(route, "/contacts") {
			continue
		}
		if strings.HasPrefix(route, "GET ") || strings.Contains(route, "batch/read") || strings.Contains(route, "/search") {
			n += c
		}
	}
	return n
}

// lmsWrites counts the LMS writes so far.
func lmsWrites(h *harness) int {
	st := h.lms.Stats()
	return st.Updates + st.Creates
}

// country returns a learner's country as a string ("" for none).
func country(h *harness, email string) string {
	h.t.Helper()
	l, ok := h.lms.Get(school, email)
	if !ok {
		h.t.Fatalf("no learner %s", email)
	}
	s, _ := l.Values["country"].(string)
	return s
}

// post delivers events to the webhook handler as signed deliveries of up to 100 events.
func post(t *testing.T, h *harness, u string, events []string) {
	t.Helper()
	for len(events) > 0 {
		n := min(len(events), 100)
		body := []byte("[" + strings.Join(events[:n], ",") + "]")
		events = events[n:]
		resp, err := http.DefaultClient.Do(signed(t, h, u, body, h.clk.Now()))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("delivery answered %d", resp.StatusCode)
		}
	}
}

func TestInboundEditOfAnotherPropertyKeepsTheLearnersValue(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping})
	h.lms.Put(school, hubsync.Learner{Email: "gr@school.example", Values: map[string]any{"country": "GR", "company": "Acme"}})
	if _, err := h.hs.SeedContact(map[string]string{"email": "gr@school.example", "company": "Acme"}); err != nil {
		t.Fatal(err)
	}
	h.admin("gr@school.example", map[string]string{"company": "Globex"})
	h.flush()
	h.run()
	l, _ := h.lms.Get(school, "gr@school.example")
	if l.Values["country"] != "GR" || l.Values["company"] != "Globex" {
		t.Fatalf("learner = %+v, want country GR kept and company Globex applied", l.Values)
	}
}

func TestInboundBlankInHubSpotKeepsAValueHubsyncNeverSynced(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping})
	h.lms.Put(school, hubsync.Learner{Email: "gr@school.example", Values: map[string]any{"country": "GR"}})
	// HubSpot got its country from somewhere else (an import, another tool): hubsync never synced it.
	if _, err := h.hs.SeedContact(map[string]string{"email": "gr@school.example", "country": "FR"}); err != nil {
		t.Fatal(err)
	}
	h.admin("gr@school.example", map[string]string{"country": ""})
	h.flush()
	h.run()
	if got := country(h, "gr@school.example"); got != "GR" {
		t.Fatalf("country = %q, want GR: a blank cleared a value hubsync never synced", got)
	}
	if n := lmsWrites(h); n != 0 {
		t.Errorf("%d LMS writes, want 0", n)
	}
	unchanged, _ := h.store.ListSyncLog(h.ctx, school, hubsync.LogFilter{Outcome: hubsync.OutcomeUnchanged})
	if len(unchanged) != 1 || unchanged[0].Email != "gr@school.example" {
		t.Errorf("unchanged log = %+v, want the one record", unchanged)
	}
	if failed, _ := h.store.ListSyncLog(h.ctx, school, hubsync.LogFilter{Outcome: hubsync.OutcomeFailed}); len(failed) != 0 {
		t.Errorf("a skipped blank was logged as a failure: %+v", failed)
	}
}

func TestInboundExplicitClearOfASyncedValueClearsIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeTwoWay, Mappings: inboundMapping})
	ann := h.lms.Put(school, hubsync.Learner{Email: "ann@school.example", Values: map[string]any{"country": "GR", "company": "Acme"}})
	h.change(ann) // GR goes out to HubSpot
	h.run()
	h.flush()
	h.run()
	if c := h.contact("ann@school.example"); c["country"] != "GR" {
		t.Fatalf("contact = %v", c)
	}
	// An admin clears the country hubsync put there: the learner's is cleared too.
	h.admin("ann@school.example", map[string]string{"country": ""})
	h.flush()
	h.run()
	if got := country(h, "ann@school.example"); got != "" {
		t.Fatalf("country = %q, want it cleared", got)
	}
	l, _ := h.lms.Get(school, "ann@school.example")
	if l.Values["company"] != "Acme" {
		t.Errorf("company = %v, want Acme untouched", l.Values["company"])
	}
	// The host reports the cleared learner: nothing goes back.
	before := upserts(h)
	h.change(l)
	h.run()
	if n := upserts(h) - before; n != 0 {
		t.Errorf("the echo of the clear cost %d upserts", n)
	}

	// A value the LMS changed since hubsync synced it is not cleared by a blank.
	ann = h.lms.Put(school, hubsync.Learner{Email: "ann@school.example", Values: map[string]any{"country": "GR", "company": "Acme"}})
	h.change(ann)
	h.run()
	h.flush()
	h.run()
	ann.Values["country"] = "ES" // changed in the LMS, not reported yet
	h.lms.Put(school, ann)
	h.admin("ann@school.example", map[string]string{"country": ""})
	h.flush()
	h.run()
	if got := country(h, "ann@school.example"); got != "ES" {
		t.Fatalf("country = %q, want ES: the learner no longer held what hubsync synced", got)
	}
}

func TestManualToLMSBlankKeepsTheLearnersValue(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping})
	h.lms.Put(school, hubsync.Learner{Email: "gr@school.example", Values: map[string]any{"country": "GR", "company": "Acme"}})
	if _, err := h.hs.SeedContact(map[string]string{"email": "gr@school.example", "company": "Acme"}); err != nil {
		t.Fatal(err)
	}
	p := h.manual("")
	if p.State != hubsync.ManualDone || p.Unchanged != 1 || p.Updated != 0 || p.Failed != 0 {
		t.Fatalf("progress = %+v, want the record unchanged", p)
	}
	if got := country(h, "gr@school.example"); got != "GR" {
		t.Fatalf("country = %q, want GR", got)
	}
	if n := lmsWrites(h); n != 0 {
		t.Errorf("%d LMS writes, want 0", n)
	}
}

func TestManualTwoWayBlankKeepsTheLearnersValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		dir  hubsync.Direction // of the country row
		run  hubsync.Direction // of the manual sync ("" follows the mode)
	}{
		{"row to LMS, both phases", hubsync.DirectionToLMS, ""},
		{"row both ways, HubSpot -> LMS phase only", hubsync.DirectionBoth, hubsync.DirectionToLMS},
		{"row both ways, both phases", hubsync.DirectionBoth, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.connect()
			h.settings(hubsync.Settings{Mode: hubsync.ModeTwoWay, Mappings: []hubsync.Mapping{
				{LMSField: "email", HubSpotProperty: "email"},
				{LMSField: "country", HubSpotProperty: "country", Direction: tc.dir},
				{LMSField: "company", HubSpotProperty: "company"},
			}})
			h.lms.Put(school, hubsync.Learner{Email: "gr@school.example", Values: map[string]any{"country": "GR", "company": "Acme"}})
			if _, err := h.hs.SeedContact(map[string]string{"email": "gr@school.example", "company": "Acme"}); err != nil {
				t.Fatal(err)
			}
			p := h.manual(tc.run)
			if p.State != hubsync.ManualDone || p.Failed != 0 {
				t.Fatalf("progress = %+v", p)
			}
			if got := country(h, "gr@school.example"); got != "GR" {
				t.Fatalf("country = %q, want GR", got)
			}
			if n := h.lms.Stats().Updates; n != 0 {
				t.Errorf("%d LMS updates, want 0", n)
			}
		})
	}
}

// blankCase is one learner/contact pair of the blank property test.
type blankCase struct {
	email   string
	lms, hs string // the learner's and the contact's country ("" for none)
	synced  string // SentToHubSpot["country"]
	known   bool   // whether synced is recorded at all
}

// want is the country the learner must end with. A blank never empties a value, except the
// explicit clear of a value hubsync synced and the learner still holds; otherwise HubSpot's value
// lands, unless (two-way) the conflict rule keeps the LMS's: HubSpot still holds what hubsync
// last wrote and the LMS changed since.
func (c blankCase) want(twoWay bool) string {
	switch {
	case c.hs == "" && c.lms != "":
		if c.synced != "" && c.synced == c.lms {
			return ""
		}
		return c.lms
	case twoWay && c.known && c.hs == c.synced && c.lms != c.synced:
		return c.lms
	}
	return c.hs
}

func TestBlankNeverEmptiesALearnerValueProperty(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		mode hubsync.SyncMode
		live bool
	}{
		{"manual, HubSpot -> LMS", hubsync.ModeToLMS, false},
		{"manual, two-way", hubsync.ModeTwoWay, false},
		{"live, HubSpot -> LMS", hubsync.ModeToLMS, true},
		{"live, two-way", hubsync.ModeTwoWay, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(13, uint64(len(tc.name))))
			values := []string{"", "", "GR", "FR"}
			h := newHarness(t)
			h.connect()
			u := h.withWebhooks()
			h.settings(hubsync.Settings{Mode: tc.mode, Mappings: inboundMapping})
			var cases []blankCase
			var events []string
			for i := range 150 {
				c := blankCase{email: fmt.Sprintf("p%03d@school.example", i), lms: values[rng.IntN(len(values))], hs: values[rng.IntN(len(values))]}
				if rng.IntN(3) > 0 {
					c.known, c.synced = true, values[rng.IntN(len(values))]
					if rng.IntN(2) == 0 {
						c.synced = c.lms // synced before, and the learner still holds it
					}
				}
				vals := map[string]any{"company": "Acme"}
				if c.lms != "" {
					vals["country"] = c.lms
				}
				h.lms.Put(school, hubsync.Learner{Email: c.email, Values: vals})
				props := map[string]string{"email": c.email, "company": "Acme"}
				if c.hs != "" {
					props["country"] = c.hs
				}
				id, err := h.hs.SeedContact(props)
				if err != nil {
					t.Fatal(err)
				}
				if c.known {
					st := hubsync.SyncState{School: school, Email: c.email, ContactID: id, SentToHubSpot: map[string]string{"country": c.synced}}
					if err := h.store.PutSyncState(h.ctx, st); err != nil {
						t.Fatal(err)
					}
				}
				events = append(events, event(h.hs.PortalID(), int64(i+1), id, "country", c.hs, h.clk.Now()))
				cases = append(cases, c)
			}
			if tc.live {
				post(t, h, u, events)
				h.run()
			} else if p := h.manual(hubsync.DirectionToLMS); p.State != hubsync.ManualDone || p.Failed != 0 {
				t.Fatalf("progress = %+v", p)
			}
			for _, c := range cases {
				got := country(h, c.email)
				if c.lms != "" && got == "" && (c.synced == "" || c.synced != c.lms) {
					t.Errorf("%+v: a blank emptied the learner's value", c)
				} else if want := c.want(tc.mode == hubsync.ModeTwoWay); got != want {
					t.Errorf("%+v: country = %q, want %q", c, got, want)
				}
			}
		})
	}
}
