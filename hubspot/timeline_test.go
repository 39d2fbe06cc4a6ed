package hubspot_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hubsync/hubsync/hubspot"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

func TestCreateTimelineEvents(t *testing.T) {
	t.Parallel()
	for _, fl := range []hubspot.TimelineFlavour{hubspot.TimelineLegacyV3, hubspot.TimelineAppEvents} {
		t.Run(string(fl), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, hubspot.DefaultVersion, nil, hubspot.WithTimelineFlavour(fl))
			at := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
			ev := func(course string) hubspot.TimelineEvent {
				return hubspot.TimelineEvent{
					ID:   hubspot.TimelineEventID("enrolled", "school-1", "learner-9", course),
					Type: "enrolled_in_course", Email: "Learner@Example.com", Timestamp: at,
					Properties: map[string]string{"course": course},
				}
			}
			res, err := f.client.CreateTimelineEvents(ctxT(t), []hubspot.TimelineEvent{ev("go-101"), ev("go-102"), ev("go-101")})
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Err != nil || res[1].Err != nil || !res[2].AlreadyDelivered || res[0].ID != res[2].ID {
				t.Fatalf("results %+v", res)
			}
			// A resend with one old and one new occurrence: the old one counts as delivered.
			res, err = f.client.CreateTimelineEvents(ctxT(t), []hubspot.TimelineEvent{ev("go-102"), ev("go-103")})
			if err != nil {
				t.Fatal(err)
			}
			if res[1].Err != nil || res[1].AlreadyDelivered {
				t.Fatalf("new occurrence: %+v", res[1])
			}
			if fl == hubspot.TimelineAppEvents && !res[0].AlreadyDelivered {
				t.Fatalf("old occurrence: %+v, want AlreadyDelivered after the 409", res[0])
			}
			if res[0].Err != nil {
				t.Fatalf("old occurrence: %v", res[0].Err)
			}
			got := f.srv.TimelineEvents()
			if len(got) != 3 {
				t.Fatalf("fake holds %d events, want 3 (one per real occurrence): %+v", len(got), got)
			}
			wantFlavour := map[hubspot.TimelineFlavour]string{hubspot.TimelineLegacyV3: hubspottest.FlavourLegacyV3, hubspot.TimelineAppEvents: hubspottest.FlavourAppEvents}[fl]
			for _, e := range got {
				if e.Flavour != wantFlavour || e.Type != "enrolled_in_course" || !e.Timestamp.Equal(at) || e.Email != "learner@example.com" {
					t.Fatalf("stored event %+v", e)
				}
			}
			// The unknown email created the contact, with only its email.
			if ct, ok := f.srv.Contact("learner@example.com"); !ok || ct.Properties["firstname"] != "" {
				t.Fatalf("contact created by the event: %+v, %v", ct, ok)
			}
		})
	}
}

func TestTimelineEventValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, hubspot.DefaultVersion, nil)
	res, err := f.client.CreateTimelineEvents(ctxT(t), []hubspot.TimelineEvent{
		{Email: "a@example.com"},
		{Type: "signup"},
		{Type: "signup", Email: "not an email"},
		{Type: "signup", Email: "ok@example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res[0].Err, hubspot.ErrInvalidInput) || !errors.Is(res[1].Err, hubspot.ErrInvalidInput) {
		t.Fatalf("local validation: %v, %v", res[0].Err, res[1].Err)
	}
	var ae *hubspot.APIError
	if !errors.As(res[2].Err, &ae) || ae.StatusCode != 400 {
		t.Fatalf("bad email: %v, want a 400 isolated to the event", res[2].Err)
	}
	if res[3].Err != nil || res[3].ID == "" {
		t.Fatalf("good event: %+v", res[3])
	}
	// Derived ids are deterministic.
	e := hubspot.TimelineEvent{Type: "signup", Email: "ok@example.com", Timestamp: time.Unix(5, 0)}
	r1, _ := f.client.CreateTimelineEvents(ctxT(t), []hubspot.TimelineEvent{e})
	r2, _ := f.client.CreateTimelineEvents(ctxT(t), []hubspot.TimelineEvent{e})
	if r1[0].ID != r2[0].ID || !r2[0].AlreadyDelivered {
		t.Fatalf("derived ids %s and %s (second %+v)", r1[0].ID, r2[0].ID, r2[0])
	}
	many := make([]hubspot.TimelineEvent, 101)
	if _, err := f.client.CreateTimelineEvents(ctxT(t), many); !errors.Is(err, hubspot.ErrInvalidInput) {
		t.Fatalf("101 events: err = %v", err)
	}
}

func ExampleTimelineEventID() {
	fmt.Println(hubspot.TimelineEventID("course_completed", "school-1", "user-42", "course-7"))
	fmt.Println(hubspot.TimelineEventID("course_completed", "school-1", "user-42", "course-7") ==
		hubspot.TimelineEventID("course_completed", "school-1", "user-42", "course-8"))
	// Output:
	// hs-c2886991576b35b9ca90577d73a0adba
	// false
}
