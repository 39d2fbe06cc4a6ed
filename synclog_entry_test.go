package hubsync_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hubsync/hubsync"
)

func TestSyncLogEntryValidate(t *testing.T) {
	t.Parallel()
	ok := hubsync.SyncLogEntry{School: "a", Direction: hubsync.DirectionToHubSpot, Outcome: hubsync.OutcomeCreated}
	for _, tc := range []struct {
		name  string
		edit  func(*hubsync.SyncLogEntry)
		field string // "" when valid
	}{
		{"valid", func(*hubsync.SyncLogEntry) {}, ""},
		{"empty outcome and direction", func(e *hubsync.SyncLogEntry) { e.Outcome, e.Direction = "", "" }, ""},
		{"every outcome", func(e *hubsync.SyncLogEntry) { e.Outcome = hubsync.LogOutcomes()[4] }, ""},
		{"no school", func(e *hubsync.SyncLogEntry) { e.School = "" }, "school"},
		{"unknown outcome", func(e *hubsync.SyncLogEntry) { e.Outcome = "exploded" }, "Outcome"},
		{"outcome in capitals", func(e *hubsync.SyncLogEntry) { e.Outcome = "Created" }, "Outcome"},
		{"unknown direction", func(e *hubsync.SyncLogEntry) { e.Direction = "sideways" }, "Direction"},
	} {
		e := ok
		tc.edit(&e)
		err := e.Validate()
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s: Validate() = %v, want nil", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, hubsync.ErrInvalidValue) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: Validate() = %v, want an error wrapping ErrInvalidValue naming %s", tc.name, err, tc.field)
		}
	}
}
