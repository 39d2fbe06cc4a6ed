package hubsync_test

import (
	"context"
	"sync"
	"testing"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubsynctest"
)

// interleaving is the fake LMS with one twist: at its first learner write it runs between, as
// another worker (the outbound lane of the same school) would while an inbound batch is under
// way.
type interleaving struct {
	*hubsynctest.Learners
	once    sync.Once
	between func(ctx context.Context, writing string)
}

func (l *interleaving) Update(ctx context.Context, school hubsync.SchoolID, id string, values map[string]any) (hubsync.Learner, error) {
	got, err := l.Learners.Update(ctx, school, id, values)
	if err == nil {
		l.once.Do(func() { l.between(ctx, hubsync.FoldEmail(got.Email)) })
	}
	return got, err
}

// An inbound batch reads each learner's sync state right before writing it, not once for the
// batch: a state another worker stored while the batch wrote earlier learners (an outbound send
// of the same school, on its own lane) is kept, not overwritten with the batch's older copy.
func TestInboundKeepsAStateWrittenDuringItsBatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.withWebhooks()
	emails := []string{"a@school.example", "b@school.example"}
	for _, em := range emails {
		h.lms.Put(school, hubsync.Learner{Email: em, Values: map[string]any{"country": "GR", "company": "Acme"}})
		if _, err := h.hs.SeedContact(map[string]string{"email": em, "country": "GR", "company": "Acme"}); err != nil {
			t.Fatal(err)
		}
	}
	other := ""
	lms := &interleaving{Learners: h.lms, between: func(ctx context.Context, writing string) {
		other = emails[0]
		if writing == emails[0] {
			other = emails[1]
		}
		st, err := h.store.GetSyncState(ctx, school, other)
		if err != nil {
			st = hubsync.SyncState{School: school, Email: other}
		}
		st.SentToHubSpot = map[string]string{"company": "meanwhile"}
		if err := h.store.PutSyncState(ctx, st); err != nil {
			t.Error(err)
		}
	}}
	h.eng = h.engine(h.config(h.store, lms))
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping})
	for _, em := range emails {
		h.admin(em, map[string]string{"country": "IT"})
	}
	h.flush()
	h.run()
	if other == "" {
		t.Fatal("no learner was written")
	}
	for _, em := range emails {
		if l, _ := h.lms.Get(school, em); l.Values["country"] != "IT" {
			t.Errorf("country of %s = %v, want IT", hubsync.MaskEmail(em), l.Values["country"])
		}
	}
	st, err := h.store.GetSyncState(h.ctx, school, other)
	if err != nil {
		t.Fatal(err)
	}
	if st.SentToHubSpot["company"] != "meanwhile" {
		t.Errorf("the state stored during the batch lost its value: SentToHubSpot = %v", st.SentToHubSpot)
	}
}
