package hubsync

import (
	"encoding/json"
	"errors"
	"net/mail"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/hubsync/hubsync/hubspot"
)

func TestDefaultSettingsAreTheSeedDefaults(t *testing.T) {
	t.Parallel()
	s := DefaultSettings()
	if s.Mode.OrDefault() != ModeToHubSpot || s.UpdateLifecycleStage || s.GDPRToolkit ||
		s.Inbound.CreateLearners || s.Inbound.SendWelcomeEmail || len(s.Inbound.Tags) != 0 || s.Inbound.ValidateData {
		t.Errorf("defaults = %+v", s)
	}
	for _, k := range EventKinds() {
		if !s.EventEnabled(k) || !(Settings{}).EventEnabled(k) {
			t.Errorf("%s off by default", k)
		}
	}
	if err := (Settings{}).Validate(); err != nil {
		t.Errorf("zero settings invalid: %v", err)
	}
	off := Settings{DisabledEvents: []EventKind{EventTagAdded}}
	if off.EventEnabled(EventTagAdded) || !off.EventEnabled(EventTagRemoved) {
		t.Error("toggle not honoured")
	}
}

func TestSettingsValidate(t *testing.T) {
	t.Parallel()
	bad := Settings{
		Mode:           "sideways",
		Mappings:       []Mapping{{LMSField: "", HubSpotProperty: "x", Direction: "up"}},
		DisabledEvents: []EventKind{"nope", EventTagAdded, EventTagAdded},
		Inbound:        InboundSettings{Tags: []string{" "}},
		NotifyEmail:    "admin-at-school",
		Custom:         []CustomField{{Name: "x", Type: "bool"}},
	}
	err := bad.Validate()
	if !errors.Is(err, ErrInvalidSettings) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"mode", "mappings[0].direction", "mappings[0]: no LMS field", "disabled_events[0]", "disabled_events[2]", "inbound.tags[0]", "notify_email", "custom_fields"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "admin-at-school") {
		t.Error("error repeats the address")
	}
}

func TestSettingsJSONRoundTrip(t *testing.T) {
	t.Parallel()
	s := Settings{
		Mode:                 ModeTwoWay,
		Mappings:             []Mapping{{LMSField: "country", HubSpotProperty: "country", Direction: DirectionBoth}},
		UpdateLifecycleStage: true,
		DisabledEvents:       []EventKind{EventDeleted},
		Inbound:              InboundSettings{CreateLearners: true, Tags: []string{"from-hubspot"}},
		NotifyEmail:          "admin@school.example",
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Settings
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestEmailHelpers(t *testing.T) {
	t.Parallel()
	for _, good := range []string{"a@b.co", "jane.doe+x@mail.example.com"} {
		if err := ValidateEmail(good); err != nil {
			t.Errorf("%s: %v", good, err)
		}
	}
	for _, bad := range []string{"", "plain", "a@b", "Jane <jane@x.com>", "a@.com", "a@b.", "@b.com", "a b@c.com"} {
		if ValidateEmail(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if got := MaskEmail("jane.doe@example.com"); got != "j***@example.com" {
		t.Errorf("MaskEmail = %q", got)
	}
	if got := MaskEmail("nope"); got != "***" {
		t.Errorf("MaskEmail = %q", got)
	}
}

func FuzzValidateEmail(f *testing.F) {
	for _, s := range []string{"a@b.co", "x", "<a@b.c>", "\"q\"@x.y", "é@ü.de"} {
		f.Add(s)
	}
	f.Add("*@000") // the masked local part starts with the input's own "*": no leak
	f.Add("ab@cd")
	f.Fuzz(func(t *testing.T, s string) {
		// The property: an error shows the address only masked, so its text is one of the fixed
		// messages around MaskEmail(s); and MaskEmail keeps at most the local part's first
		// character. (Checking that the text does not contain s was wrong: "*@000" masks to
		// "****@000", which contains it.)
		masked := MaskEmail(s)
		if err := ValidateEmail(s); err != nil {
			switch err.Error() {
			case "email is empty", masked + " is not a valid email address", masked + " has no valid domain":
			default:
				t.Fatalf("ValidateEmail(%q) = %q: not a fixed message around the masked address %q", s, err, masked)
			}
		}
		at := strings.LastIndexByte(s, '@')
		if at <= 0 {
			if masked != "***" {
				t.Fatalf("MaskEmail(%q) = %q, want ***", s, masked)
			}
			return
		}
		first, _ := utf8.DecodeRuneInString(s)
		if want := string(first) + "***" + s[at:]; masked != want {
			t.Fatalf("MaskEmail(%q) = %q, want %q", s, masked, want)
		}
	})
}

func TestFoldEmailIsHubSpots(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", " Ann@Example.COM ", "\tbob@x.io\n", "ÄRZTE@Beispiel.de", "already@folded.example"} {
		if got, want := FoldEmail(s), hubspot.FoldEmail(s); got != want {
			t.Errorf("FoldEmail(%q) = %q, hubspot.FoldEmail = %q", s, got, want)
		}
	}
}

// TestValidateNamesTheSettingOnce: one "hubsync: invalid settings:" prefix, then the setting.
func TestValidateNamesTheSettingOnce(t *testing.T) {
	t.Parallel()
	err := Settings{Mode: "sideways", Mappings: []Mapping{{LMSField: "a", HubSpotProperty: "b", Direction: "up"}}}.Validate()
	if !errors.Is(err, ErrInvalidSettings) {
		t.Fatalf("%v does not wrap ErrInvalidSettings", err)
	}
	for _, want := range []string{
		"hubsync: invalid settings: mode: unknown sync mode \"sideways\"",
		"hubsync: invalid settings: mappings[0].direction: unknown direction \"up\"",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if n := strings.Count(err.Error(), "invalid settings"); n != 2 {
		t.Errorf("%d \"invalid settings\" for two problems: %q", n, err)
	}
}

// FuzzPlainEmail checks that ValidateEmail's fast path accepts only what its full check
// (net/mail and the domain rule) accepts.
func FuzzPlainEmail(f *testing.F) {
	for _, s := range []string{"a@b.co", "jane.doe+x@mail.example.com", "a..b@c.d", ".a@b.c", "a@b..c", "a@b.c.", "a@-b.c", "a@@b.c", "A_B-c@X.Y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !plainEmail(s) {
			return
		}
		a, err := mail.ParseAddress(s)
		if err != nil || a.Address != s || a.Name != "" {
			t.Fatalf("plainEmail(%q) but net/mail says %v (%+v)", s, err, a)
		}
		dom := s[strings.LastIndexByte(s, '@')+1:]
		if !strings.Contains(dom, ".") || strings.HasPrefix(dom, ".") || strings.HasSuffix(dom, ".") {
			t.Fatalf("plainEmail(%q) but the domain rule refuses it", s)
		}
	})
}
