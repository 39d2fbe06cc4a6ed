package hubsync

import (
	"testing"
	"time"
)

const longValue = "maria.papadopoulou.123@example-school.com"

// TestSentForm: short values verbatim, long ones a fixed 12-character fingerprint (the stored
// format: the golden value must never change), distinct long values distinct.
func TestSentForm(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"", "GR", "Athens", "12345678901"} {
		if got := sentForm(v); got != v {
			t.Errorf("sentForm(%q) = %q, want it verbatim", v, got)
		}
	}
	if got, want := sentForm(longValue), "PpUDLs_sWeQ1"; got != want {
		t.Errorf("sentForm(%q) = %q, want %q (the format-1 form must not change)", longValue, got, want)
	}
	seen := map[string]string{}
	for _, v := range []string{"123456789012", "123456789013", longValue, longValue + " ", "Company 1 Ltd", "Company 2 Ltd"} {
		f := sentForm(v)
		if len(f) != sentShortMax+1 {
			t.Errorf("sentForm(%q) = %q: %d characters, want %d", v, f, len(f), sentShortMax+1)
		}
		if other, dup := seen[f]; dup {
			t.Errorf("sentForm(%q) = sentForm(%q) = %q", v, other, f)
		}
		seen[f] = v
	}
}

// TestSentFormats: a format-0 map (an older hubsync's: the values themselves) is read as such; the
// first value recorded converts it to format 1 and every value it held is still recognised.
func TestSentFormats(t *testing.T) {
	t.Parallel()
	old := map[string]string{"email": longValue, "country": "GR", "company": ""}
	for k, v := range old {
		if !sentIs(old, k, v) {
			t.Errorf("format 0: %s=%q not recognised", k, v)
		}
	}
	if sentIs(old, "email", sentForm(longValue)) || sentIs(old, "country", "FR") || sentIs(old, "city", "") {
		t.Error("format 0: a value not recorded recognised")
	}
	sent := recordSent(old, "city", "Thessaloniki-Kalamaria")
	if sent["~"] != "1" || sent["email"] != sentForm(longValue) || sent["city"] != sentForm("Thessaloniki-Kalamaria") {
		t.Fatalf("after recordSent: %q, want format 1", sent)
	}
	for k, v := range map[string]string{"email": longValue, "country": "GR", "company": "", "city": "Thessaloniki-Kalamaria"} {
		if !sentIs(sent, k, v) {
			t.Errorf("format 1: %s=%q not recognised", k, v)
		}
	}
	if sentIs(sent, "email", longValue+"x") || sentIs(sent, "email", sent["email"]) || sentIs(sent, "company", "x") || sentIs(sent, "phone", "") {
		t.Errorf("format 1: a value not recorded recognised: %q", sent)
	}
	if got := recordSent(nil, "email", longValue); len(got) != 2 || !sentIs(got, "email", longValue) {
		t.Errorf("recordSent(nil) = %q", got)
	}
}

// TestSentRulesOverBothFormats: diffing, the blank rule and the two-way conflict rule decide the
// same over a map of either format, for short and long values.
func TestSentRulesOverBothFormats(t *testing.T) {
	t.Parallel()
	const a, b = "Thessaloniki Central Campus", "Athens Central Campus" // both fingerprinted
	maps := func(sent map[string]string) map[string]map[string]string {
		v1 := map[string]string(nil)
		for k, v := range sent {
			v1 = recordSent(v1, k, v)
		}
		if v1 == nil {
			v1 = map[string]string{}
		}
		return map[string]map[string]string{"format 0": sent, "format 1": v1}
	}
	rows := []RowReport{{Mapping: Mapping{LMSField: "location", HubSpotProperty: "city"}, Type: TypeString}}
	learner := func(v string) Learner {
		if v == "" {
			return Learner{Email: "x@example.com", Values: map[string]any{}}
		}
		return Learner{Email: "x@example.com", Values: map[string]any{"location": v}}
	}
	for name, sent := range maps(map[string]string{"city": a}) {
		// Diffing.
		if p, _ := outboundChanges(rows, learner(a), sent); len(p) != 0 {
			t.Errorf("%s: unchanged value sent again: %q", name, p)
		}
		if p, _ := outboundChanges(rows, learner(b), sent); p["city"] != b {
			t.Errorf("%s: changed value not sent: %q", name, p)
		}
		if p, _ := outboundChanges(rows, learner(""), sent); len(p) != 1 || p["city"] != "" {
			t.Errorf("%s: a value cleared in the LMS not cleared in HubSpot: %q", name, p)
		}
		// Blank rule: HubSpot cleared what the engine wrote, the LMS still holds it: the clear
		// goes through; the LMS holds another value: it stays.
		if blankKept(sent, "city", "", a) {
			t.Errorf("%s: the clear of a value the engine wrote is kept from the LMS", name)
		}
		if !blankKept(sent, "city", "", b) || !blankKept(sent, "phone", "", b) {
			t.Errorf("%s: a blank cleared a value the engine did not write", name)
		}
		// Two-way conflict rule.
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		if !lmsWins(sent, "city", a, b, time.Time{}, t0) {
			t.Errorf("%s: HubSpot unchanged, LMS changed: the LMS must win", name)
		}
		if lmsWins(sent, "city", b, a, t0.Add(time.Hour), t0) {
			t.Errorf("%s: HubSpot changed, LMS unchanged: HubSpot must win", name)
		}
		if !lmsWins(sent, "city", b, "Larissa Central Campus", t0.Add(time.Hour), t0) ||
			lmsWins(sent, "city", b, "Larissa Central Campus", t0.Add(-time.Hour), t0) {
			t.Errorf("%s: both changed: the more recent change must win", name)
		}
		if lmsWins(sent, "phone", a, b, t0.Add(time.Hour), t0) {
			t.Errorf("%s: a property never written: HubSpot must win", name)
		}
	}
	// Not written at all, empty in the LMS: nothing to send; written empty and still empty: nothing.
	for name, sent := range maps(map[string]string{}) {
		if p, _ := outboundChanges(rows, learner(""), sent); len(p) != 0 {
			t.Errorf("%s: an empty value never written sent: %q", name, p)
		}
	}
	for name, sent := range maps(map[string]string{"city": ""}) {
		if p, _ := outboundChanges(rows, learner(""), sent); len(p) != 0 {
			t.Errorf("%s: an empty value written empty sent again: %q", name, p)
		}
		if blankKept(sent, "city", "", "") {
			t.Errorf("%s: blank rule applied to an empty LMS value", name)
		}
	}
}
