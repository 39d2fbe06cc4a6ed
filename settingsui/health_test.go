package settingsui_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hubsync/hubsync"
)

// The page's sync health section shows the engine's summary: failing learners (masked, with the
// reason), excluded ones by reason, and dead jobs.
func TestSyncHealthSection(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.connect(t, "alice")
	h := func(email, learner string, st hubsync.HealthStatus, ex hubsync.Exclusion, reason string) hubsync.HealthEntry {
		return hubsync.HealthEntry{School: school, Direction: hubsync.DirectionToHubSpot, Email: email, LearnerID: learner, Status: st, Exclusion: ex, Reason: reason}
	}
	if err := f.store.PutSyncHealth(t.Context(),
		h("zoe.k@school.example", "", hubsync.HealthFailing, "", "hubspot: 400 for zoe.k@school.example"),
		h("a@school.example", "", hubsync.HealthExcluded, hubsync.ExcludedNoConsent, ""),
		h("b@school.example", "", hubsync.HealthExcluded, hubsync.ExcludedNoConsent, ""),
		h("", "u9", hubsync.HealthExcluded, hubsync.ExcludedNoEmail, "")); err != nil {
		t.Fatal(err)
	}
	r := f.do(t, "alice", "GET", base+"/", nil)
	wantBody(t, "page", r, http.StatusOK, `id="sync-health"`, `<dd id="health-failing">1</dd>`,
		"Excluded: no marketing consent (GDPR toolkit)</dt><dd>2</dd>", "Excluded: no email</dt><dd>1</dd>",
		`<dd id="health-dead">0</dd>`, "z***@school.example: hubspot: 400 for z***@school.example")
	if strings.Contains(r.body, "zoe.k@") {
		t.Fatalf("the page shows a full email:\n%s", r.body)
	}
}
