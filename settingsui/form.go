package settingsui

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/hubsync/hubsync"
)

// The settings form's fields.
const (
	fieldMode       = "mode"
	fieldRowLMS     = "row_lms"
	fieldRowHubSpot = "row_hubspot"
	fieldRowDir     = "row_direction"
	fieldLifecycle  = "update_lifecycle_stage"
	fieldEvent      = "event"
	fieldGDPR       = "gdpr_toolkit"
	fieldCreate     = "create_learners"
	fieldWelcome    = "send_welcome_email"
	fieldTags       = "tags"
	fieldValidate   = "validate_data"
	fieldNotify     = "notify_email"
)

// maxTagLength bounds one tag for new learners.
const maxTagLength = 100

// parseSettings reads the settings form over saved (whose custom fields, billing switch and, when
// the form leaves it blank, notification address it keeps). It returns the settings as submitted,
// blank rows dropped, and every problem found, each naming the control it is about.
func parseSettings(f url.Values, saved hubsync.Settings) (hubsync.Settings, []formProblem) {
	var probs []formProblem
	add := func(field, format string, args ...any) {
		probs = append(probs, formProblem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	s := hubsync.Settings{Custom: saved.Custom, BillingEnabled: saved.BillingEnabled, NotifyEmail: saved.NotifyEmail}

	mode := hubsync.SyncMode(f.Get(fieldMode))
	if mode == "" || !slices.Contains(hubsync.SyncModes(), mode) {
		add("mode-"+string(hubsync.ModeToHubSpot), "Sync direction: choose one of the three modes.")
		mode = saved.Mode.OrDefault()
	}
	s.Mode = mode

	lms, hs, dirs := f[fieldRowLMS], f[fieldRowHubSpot], f[fieldRowDir]
	if len(lms) != len(hs) || len(lms) != len(dirs) {
		add("mapping", "Field mapping: the rows arrived incomplete (%d LearnWorlds fields, %d HubSpot properties, %d directions); reload the page and try again.", len(lms), len(hs), len(dirs))
	} else {
		for i := range lms {
			m := hubsync.Mapping{LMSField: strings.TrimSpace(lms[i]), HubSpotProperty: strings.TrimSpace(hs[i]), Direction: hubsync.Direction(dirs[i])}
			if m.LMSField == "" && m.HubSpotProperty == "" {
				continue // an added row left blank
			}
			n := len(s.Mappings) + 1
			if m.LMSField == "" {
				add(rowID(n, "lms"), "Field mapping row %d: choose a LearnWorlds field.", n)
			}
			if m.HubSpotProperty == "" {
				add(rowID(n, "hubspot"), "Field mapping row %d: choose a HubSpot property.", n)
			}
			if m.Direction == "" {
				m.Direction = hubsync.DirectionBoth
			}
			if err := m.Direction.Validate(); err != nil {
				add(rowID(n, "direction"), "Field mapping row %d: the sync direction %q is not one of LearnWorlds to HubSpot, HubSpot to LearnWorlds or Both.", n, dirs[i])
			}
			s.Mappings = append(s.Mappings, m)
		}
	}

	s.UpdateLifecycleStage = f.Get(fieldLifecycle) != ""
	on := map[hubsync.EventKind]bool{}
	for _, v := range f[fieldEvent] {
		k := hubsync.EventKind(v)
		if err := k.Validate(); err != nil {
			add("event-"+string(hubsync.EventSignedUp), "Timeline events: %q is not a timeline event kind.", v)
			continue
		}
		on[k] = true
	}
	for _, k := range hubsync.EventKinds() {
		if !on[k] {
			s.DisabledEvents = append(s.DisabledEvents, k)
		}
	}
	s.GDPRToolkit = f.Get(fieldGDPR) != ""
	s.Inbound.CreateLearners = f.Get(fieldCreate) != ""
	s.Inbound.SendWelcomeEmail = f.Get(fieldWelcome) != ""
	s.Inbound.ValidateData = f.Get(fieldValidate) != ""
	for i, t := range strings.Split(f.Get(fieldTags), ",") {
		t = strings.TrimSpace(t)
		switch {
		case t == "":
		case len([]rune(t)) > maxTagLength:
			add(fieldTags, "Tags for new learners: tag %d is longer than %d characters.", i+1, maxTagLength)
		case !slices.Contains(s.Inbound.Tags, t):
			s.Inbound.Tags = append(s.Inbound.Tags, t)
		}
	}
	if e := strings.TrimSpace(f.Get(fieldNotify)); e != "" {
		if err := hubsync.ValidateEmail(e); err != nil {
			add(fieldNotify, "School email: %v.", err)
		} else {
			s.NotifyEmail = e
		}
	}
	return s, probs
}

// rowID is the id of a mapping row's control: part is "lms", "hubspot" or "direction".
func rowID(n int, part string) string { return fmt.Sprintf("row-%d-%s", n, part) }
