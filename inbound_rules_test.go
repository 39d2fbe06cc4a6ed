package hubsync

import "testing"

func TestBlankKept(t *testing.T) {
	t.Parallel()
	synced := map[string]string{"country": "GR"}
	for _, tc := range []struct {
		name    string
		sent    map[string]string
		hs, lms string
		want    bool
		why     string
	}{
		{"a value, not a blank", nil, "FR", "GR", false, "only blanks are held back"},
		{"both empty", nil, "", "", false, "nothing to overwrite"},
		{"blank, never synced", nil, "", "GR", true, "a blank never overwrites a value"},
		{"blank, synced empty", map[string]string{"country": ""}, "", "GR", true, "the engine synced no value HubSpot could have cleared"},
		{"blank, another property synced", map[string]string{"city": "GR"}, "", "GR", true, "the record is per property"},
		{"explicit clear of the synced value", synced, "", "GR", false, "HubSpot held GR through hubsync and the learner still holds it"},
		{"blank after the LMS changed", synced, "", "ES", true, "the learner no longer holds what hubsync synced"},
	} {
		if got := blankKept(tc.sent, "country", tc.hs, tc.lms); got != tc.want {
			t.Errorf("%s: blankKept = %v, want %v (%s)", tc.name, got, tc.want, tc.why)
		}
	}
}
