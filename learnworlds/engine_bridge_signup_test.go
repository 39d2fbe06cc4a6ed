package learnworlds_test

import (
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubsynctest"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// TestEngineWebhooksSignUpOnlyFromRegistration: LearnWorlds sends userUpdated for a registration
// and for every profile change. Only a registration (a learner created just now) becomes a
// signed_up event: a profile change of a learner who registered long ago sends none, the echo of
// the engine's own write included, even though no sign-up was ever recorded for the learner.
func TestEngineWebhooksSignUpOnlyFromRegistration(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			b := newBridge(t, bridgeOptions{store: be.open(t), fake: []learnworldstest.Option{learnworldstest.WithAPIWriteWebhooks()}})

			const old, echoed, fresh, made = "old@school.example", "echo@school.example", "new@school.example", "made@school.example"
			longAgo := float64(time.Now().Add(-30 * 24 * time.Hour).Unix())
			for _, email := range []string{old, echoed} {
				if _, err := b.lw.AddUser(learnworldstest.User{Email: email, Fields: map[string]any{"country": "GR"}, Created: longAgo}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := b.lw.Update(ctx, old, func(u *learnworldstest.User) { u.Fields["country"] = "CY" }); err != nil {
				t.Fatalf("profile update: %v", err)
			}
			// The write the engine makes for HubSpot -> LMS rows comes back as a userUpdated.
			e, _ := b.lw.User(echoed)
			if _, err := b.learners.Update(ctx, school, e.ID, map[string]any{"country": "MT"}); err != nil {
				t.Fatalf("adapter write: %v", err)
			}

			if _, err := b.lw.Register(ctx, learnworldstest.User{Email: fresh, Fields: map[string]any{"country": "GR"}}); err != nil {
				t.Fatalf("registration: %v", err)
			}
			if _, err := b.lw.Update(ctx, fresh, func(u *learnworldstest.User) { u.Fields["country"] = "CY" }); err != nil {
				t.Fatalf("profile update: %v", err)
			}
			// A learner the engine creates in the school registers there: its echo is a sign-up.
			if _, err := b.learners.Create(ctx, school, hubsync.NewLearner{Email: made}); err != nil {
				t.Fatalf("adapter create: %v", err)
			}
			for _, d := range b.lw.Deliveries() {
				if d.Status != 200 {
					t.Fatalf("a %s delivery was answered %d", d.Type, d.Status)
				}
			}
			if n := len(b.lw.Deliveries()); n != 5 {
				t.Fatalf("%d deliveries, want 5", n)
			}
			b.run(t)
			for email, country := range map[string]string{old: "CY", echoed: "MT"} {
				if c, ok := b.hs.Contact(email); !ok || c.Properties["country"] != country {
					t.Fatalf("contact of %s: %+v (found %v), want country %s", hubsync.MaskEmail(email), c.Properties, ok, country)
				}
				hubsynctest.RequireTimelineEvents(t, b.hs, email)
			}
			hubsynctest.RequireTimelineEvents(t, b.hs, fresh, hubsync.EventSignedUp)
			hubsynctest.RequireTimelineEvents(t, b.hs, made, hubsync.EventSignedUp)
		})
	}
}
