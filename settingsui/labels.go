package settingsui

import "github.com/hubsync/hubsync"

// The words the page uses for the engine's vocabulary, in the seed's terms.

var modeLabels = map[hubsync.SyncMode]struct{ label, help string }{
	hubsync.ModeToHubSpot: {"LearnWorlds to HubSpot (default)",
		"Changes made in LearnWorlds are sent to HubSpot. Use this mode if LearnWorlds is your source of truth and you want your CRM to be in sync with your school."},
	hubsync.ModeToLMS: {"HubSpot to LearnWorlds only",
		"Changes made to HubSpot contacts are sent to LearnWorlds for the fields you have mapped. Use this mode if HubSpot is your source of truth and you want your school to reflect what your sales and marketing teams maintain in HubSpot."},
	hubsync.ModeTwoWay: {"Two-way sync",
		"Changes can sync in both directions, and each field mapping row has its own sync direction, so each field follows the platform that owns it. Use this mode if both systems are actively updated."},
}

var directionLabels = map[hubsync.Direction]string{
	hubsync.DirectionToHubSpot: "LearnWorlds to HubSpot",
	hubsync.DirectionToLMS:     "HubSpot to LearnWorlds",
	hubsync.DirectionBoth:      "Both",
}

var categoryLabels = map[hubsync.FieldCategory]struct{ label, empty string }{
	hubsync.CategoryGeneral: {"General information", ""},
	hubsync.CategoryUser:    {"User fields", ""},
	hubsync.CategoryCustom:  {"Custom fields (cf_)", "Custom fields (cf_): none declared"},
	hubsync.CategoryBilling: {"Billing details", "Billing details: enable billing info in school settings"},
	hubsync.CategoryUTM:     {"UTM parameters", ""},
	hubsync.CategoryUsage:   {"Usage overview", ""},
}

var eventLabels = map[hubsync.EventKind]string{
	hubsync.EventSignedUp:              "The user signs up",
	hubsync.EventDeleted:               "The user is deleted",
	hubsync.EventFirstPurchase:         "The user makes a first purchase",
	hubsync.EventTagAdded:              "Tag added",
	hubsync.EventTagRemoved:            "Tag removed",
	hubsync.EventEnrolled:              "Enrolled in course",
	hubsync.EventCourseCompleted:       "Course completed",
	hubsync.EventCertificateAwarded:    "Certificate awarded",
	hubsync.EventPurchaseMade:          "Purchase made",
	hubsync.EventSubscriptionStarted:   "Subscription started",
	hubsync.EventSubscriptionCancelled: "Subscription cancelled",
}

// problemLabels name a row's problem in a few words; the problem's message says the rest.
var problemLabels = map[hubsync.ProblemCode]string{
	hubsync.ProblemTypeMismatch:       "Type mismatch",
	hubsync.ProblemLMSFieldMissing:    "LearnWorlds field deleted",
	hubsync.ProblemPropertyMissing:    "HubSpot property deleted",
	hubsync.ProblemPropertyArchived:   "HubSpot property archived",
	hubsync.ProblemUnsupportedType:    "Unsupported HubSpot type",
	hubsync.ProblemPropertyReadOnly:   "Read-only target",
	hubsync.ProblemLMSFieldReadOnly:   "Read-only target",
	hubsync.ProblemLMSFieldUnreadable: "Unreadable field",
	hubsync.ProblemDuplicateTarget:    "Duplicate target",
	hubsync.ProblemMatchKey:           "Email is the match key",
	hubsync.ProblemInvalidRow:         "Incomplete row",
}

var stateLabels = map[hubsync.ManualState]string{
	hubsync.ManualRunning:   "Sync in progress",
	hubsync.ManualDone:      "Finished",
	hubsync.ManualFailed:    "Failed",
	hubsync.ManualCancelled: "Cancelled",
}

var phaseLabels = map[string]string{
	hubsync.PhaseToHubSpot:      "LearnWorlds to HubSpot",
	hubsync.PhaseToLMS:          "HubSpot to LearnWorlds",
	hubsync.PhaseCreateLearners: "creating learners from HubSpot contacts",
}

// flashes are the messages a redirect after a successful form shows (?done=...).
var flashes = map[string]string{
	"connected":    "Connected to HubSpot.",
	"saved":        "Settings saved.",
	"disconnected": "HubSpot was disconnected from this school.",
	"sync":         "Manual sync started. It runs in the background: you can leave this page.",
	"cancelled":    "Manual sync cancelled.",
}
