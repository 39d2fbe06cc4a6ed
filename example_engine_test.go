package hubsync_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/hubsynctest"
)

// Example runs the engine end to end with no account anywhere: the in-memory store and LMS of
// hubsynctest, and the fake HubSpot of hubspottest. A school connects with a refresh token, saves
// one mapping row, and a changed learner reaches HubSpot as a contact.
func Example() {
	ctx := context.Background()
	hs := hubspottest.NewServer()
	defer hs.Close()
	store := hubsynctest.NewMemStore()

	eng, err := hubsync.New(hubsync.Config{
		Store: store, Queue: store,
		Learners: hubsynctest.NewLearners(0),
		HubSpot:  hubsync.HubSpotApp{ClientID: hs.ClientID(), ClientSecret: hs.ClientSecret(), BaseURL: hs.URL},
		Logger:   slog.New(slog.DiscardHandler), // keep the example's output to what it prints
	})
	if err != nil {
		panic(err)
	}

	// Connect: a host would send the school admin to eng.AuthorizeURL and call CompleteConnect in
	// its OAuth callback; with a refresh token it already holds, one call does.
	const school = hubsync.SchoolID("school-1")
	_, refresh := hs.MintToken()
	if _, err := eng.ConnectWithRefreshToken(ctx, school, refresh); err != nil {
		panic(err)
	}

	// Settings: the mapping is checked against the portal's live property schema.
	report, err := eng.SaveSettings(ctx, school, hubsync.Settings{Mappings: []hubsync.Mapping{
		{LMSField: "first_name", HubSpotProperty: "firstname"},
	}})
	if err != nil {
		panic(err)
	}
	fmt.Println("first_name -> firstname valid:", report.Rows[0].Valid)

	// A learner changes; RunOnce does the queued work once (a host runs eng.Run in the background).
	if err := eng.LearnerChanged(ctx, school, hubsync.Learner{
		ID: "u1", Email: "ada@example.com", Values: map[string]any{"first_name": "Ada"},
	}); err != nil {
		panic(err)
	}
	if _, err := eng.RunOnce(ctx); err != nil {
		panic(err)
	}

	contact, _ := hs.Contact("ada@example.com")
	fmt.Println("HubSpot firstname:", contact.Properties["firstname"])
	fmt.Println("HubSpot lifecycle stage:", contact.Properties[hubsync.LifecycleProperty])
	// Output:
	// first_name -> firstname valid: true
	// HubSpot firstname: Ada
	// HubSpot lifecycle stage: lead
}
