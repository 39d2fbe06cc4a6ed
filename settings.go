package hubsync

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// Settings is one school's integration settings: everything the seed's settings screen shows.
// The zero value is the seed's defaults (see DefaultSettings): LMS -> HubSpot, no mappings,
// lifecycle update off, every timeline event on, GDPR toolkit off, new-learner creation off,
// welcome email off, no auto-tags, data validation off.
type Settings struct {
	// Mode is the sync direction; "" means ModeToHubSpot.
	Mode SyncMode `json:"mode,omitempty"`
	// Mappings are the field mapping rows. Invalid rows are skipped; the rest sync.
	Mappings []Mapping `json:"mappings,omitempty"`
	// UpdateLifecycleStage lets the engine move a contact from Lead to Customer on enrolment or
	// purchase (the seed's "Update Lifecycle Stage" checkbox).
	UpdateLifecycleStage bool `json:"update_lifecycle_stage,omitempty"`
	// DisabledEvents lists the timeline event kinds switched off; all are on by default.
	DisabledEvents []EventKind `json:"disabled_events,omitempty"`
	// GDPRToolkit on: a learner who has not accepted marketing/targeting cookies is not added to
	// HubSpot.
	GDPRToolkit bool `json:"gdpr_toolkit,omitempty"`
	// Inbound holds the HubSpot -> LMS options.
	Inbound InboundSettings `json:"inbound,omitzero"`
	// NotifyEmail is the school address told when the connection is lost ("School Emails").
	NotifyEmail string `json:"notify_email,omitempty"`
	// Custom declares the school's custom cf_ fields and their types (no LMS API lists them).
	Custom []CustomField `json:"custom_fields,omitempty"`
	// BillingEnabled makes the billing detail fields mappable.
	BillingEnabled bool `json:"billing_enabled,omitempty"`
}

// InboundSettings are the options for HubSpot -> LMS sync.
type InboundSettings struct {
	// CreateLearners makes a HubSpot contact with no matching learner create one ("Enable new
	// learner creation"). Off: such contacts are skipped and logged.
	CreateLearners bool `json:"create_learners,omitempty"`
	// SendWelcomeEmail sends the LMS registration email to learners created from HubSpot.
	SendWelcomeEmail bool `json:"send_welcome_email,omitempty"`
	// Tags are applied to learners created from HubSpot.
	Tags []string `json:"tags,omitempty"`
	// ValidateData makes every mapped inbound value pass the LMS field's rules before it is
	// written. Email format is validated regardless.
	ValidateData bool `json:"validate_data,omitempty"`
}

// DefaultSettings returns the seed's defaults. It equals the zero Settings with Mode spelled out.
func DefaultSettings() Settings { return Settings{Mode: ModeToHubSpot} }

// EventEnabled reports whether timeline events of kind k are sent.
func (s Settings) EventEnabled(k EventKind) bool {
	for _, d := range s.DisabledEvents {
		if d == k {
			return false
		}
	}
	return true
}

// Validate checks the settings' own consistency (not the mapping rows against the two schemas:
// that is ValidateMappings' job, and an invalid row does not make Settings invalid). Every problem
// found is reported, joined, each wrapping ErrInvalidSettings and naming the offending setting.
func (s Settings) Validate() error {
	var errs []error
	if err := s.Mode.Validate(); err != nil {
		errs = append(errs, inSetting("mode", err))
	}
	for i, m := range s.Mappings {
		if err := m.Direction.Validate(); err != nil {
			errs = append(errs, inSetting(fmt.Sprintf("mappings[%d].direction", i), err))
		}
		if strings.TrimSpace(m.LMSField) == "" {
			errs = append(errs, fmt.Errorf("%w: mappings[%d]: no LMS field", ErrInvalidSettings, i))
		}
		if strings.TrimSpace(m.HubSpotProperty) == "" {
			errs = append(errs, fmt.Errorf("%w: mappings[%d]: no HubSpot property", ErrInvalidSettings, i))
		}
	}
	seen := map[EventKind]bool{}
	for i, k := range s.DisabledEvents {
		if err := k.Validate(); err != nil {
			errs = append(errs, inSetting(fmt.Sprintf("disabled_events[%d]", i), err))
		} else if seen[k] {
			errs = append(errs, fmt.Errorf("%w: disabled_events[%d]: %q listed twice", ErrInvalidSettings, i, k))
		}
		seen[k] = true
	}
	for i, t := range s.Inbound.Tags {
		if strings.TrimSpace(t) == "" {
			errs = append(errs, fmt.Errorf("%w: inbound.tags[%d] is empty", ErrInvalidSettings, i))
		}
	}
	if s.NotifyEmail != "" {
		if err := ValidateEmail(s.NotifyEmail); err != nil {
			errs = append(errs, fmt.Errorf("%w: notify_email: %v", ErrInvalidSettings, err))
		}
	}
	if _, err := LearnWorldsCatalog(CatalogOptions{Custom: s.Custom, BillingEnabled: s.BillingEnabled}); err != nil {
		errs = append(errs, inSetting("custom_fields", err))
	}
	return errors.Join(errs...)
}

// inSetting names the setting err is about, after the one "hubsync: invalid settings: " prefix:
// "hubsync: invalid settings: mode: unknown sync mode ...", not "mode: hubsync: invalid
// settings: ...". The result wraps err (and so ErrInvalidSettings).
func inSetting(name string, err error) error {
	return &settingError{name: name, err: err}
}

type settingError struct {
	name string
	err  error
}

func (e *settingError) Error() string {
	return ErrInvalidSettings.Error() + ": " + e.name + ": " + strings.TrimPrefix(e.err.Error(), ErrInvalidSettings.Error()+": ")
}

func (e *settingError) Unwrap() error { return e.err }

// FoldEmail is the one folding of an email address into the match key every part of hubsync
// compares and stores: surrounding white space trimmed, lower-cased. Stores apply it to
// SyncState.Email and LogFilter.Email; the engine to every address it matches. It is the form
// HubSpot matches emails in, hubspot.FoldEmail, stated again here because package hubspot never
// imports the root (a test keeps the two equal).
func FoldEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidateEmail checks that s is a single bare address (no display name, no angle brackets) with
// a local part and a domain containing a dot. The error never repeats the address in full.
func ValidateEmail(s string) error {
	if s == "" {
		return errors.New("email is empty")
	}
	if plainEmail(s) {
		return nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return fmt.Errorf("%s is not a valid email address", MaskEmail(s))
	}
	at := strings.LastIndexByte(s, '@')
	dom := s[at+1:]
	if !strings.Contains(dom, ".") || strings.HasPrefix(dom, ".") || strings.HasSuffix(dom, ".") {
		return fmt.Errorf("%s has no valid domain", MaskEmail(s))
	}
	return nil
}

// plainEmail reports whether s is an address the full check of ValidateEmail accepts for sure,
// without the allocations of net/mail: a dot-atom local part and a dot-atom domain with a dot,
// of ASCII letters, digits and ".-_+" only. Anything else goes through net/mail (a fuzz test
// checks that every address accepted here is accepted there).
func plainEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return false
	}
	local, dom := s[:at], s[at+1:]
	return dotAtom(local) && dotAtom(dom) && strings.IndexByte(dom, '.') > 0
}

// dotAtom reports whether s is atoms of [A-Za-z0-9_+-] joined by single dots.
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '+', c == '-':
		case c == '.':
			if s[i-1] == '.' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// MaskEmail shortens an address for logs and errors: "jane.doe@example.com" -> "j***@example.com".
// Anything without an @ becomes "***".
func MaskEmail(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 {
		return "***"
	}
	r := []rune(s[:at])
	return string(r[0]) + "***" + s[at:]
}
