package learnworlds_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/hubsynctest"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

func TestEngineWebhooksFeedTheEngine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lw := learnworldstest.NewServer()
	t.Cleanup(lw.Close)
	hs := hubspottest.NewServer()
	t.Cleanup(hs.Close)
	store := hubsynctest.NewMemStore()
	learners := newLearners(t, lw, false)
	const redirect = "https://lms.example/cb"
	eng, err := hubsync.New(hubsync.Config{
		Store: store, Queue: store, Learners: learners,
		HubSpot: hubsync.HubSpotApp{ClientID: hs.ClientID(), ClientSecret: hs.ClientSecret(), RedirectURL: redirect, BaseURL: hs.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := eng.AuthorizeURL(school)
	pu, _ := url.Parse(u)
	if _, err := eng.CompleteConnect(ctx, school, hs.AuthorizeCode(redirect), pu.Query().Get("state")); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.SaveSettings(ctx, school, hubsync.Settings{Mappings: []hubsync.Mapping{
		{LMSField: "email", HubSpotProperty: "email"}, {LMSField: "country", HubSpotProperty: "country"},
	}}); err != nil {
		t.Fatal(err)
	}
	const secret = "whsec"
	srv := httptest.NewServer(learners.EngineWebhooks(school, learnworlds.Verifier{Secret: secret}, eng, store, nil))
	t.Cleanup(srv.Close)
	lw.SetWebhook(srv.URL, secret, false)

	if _, err := lw.Register(ctx, learnworldstest.User{Email: "kim@school.example", Username: "kim", Fields: map[string]any{"country": "GR"}}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := lw.Purchase(ctx, "kim@school.example", learnworldstest.Payment{ProductID: "c1", ProductType: "course", ProductName: "Course One", Price: 49}); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range lw.Deliveries() {
		if d.Status != http.StatusOK {
			t.Fatalf("delivery %s answered %d", d.Type, d.Status)
		}
	}
	if _, err := eng.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	c, ok := hs.Contact("kim@school.example")
	if !ok || c.Properties["country"] != "GR" {
		t.Fatalf("contact = %+v, %v", c, ok)
	}
	kinds := map[string]int{}
	for _, ev := range hs.TimelineEvents() {
		kinds[ev.Properties["kind"]]++
	}
	if kinds["signed_up"] != 1 || kinds["purchase_made"] != 2 || kinds["first_purchase"] != 1 {
		t.Fatalf("timeline kinds = %v", kinds)
	}

	// A redelivered body is dropped: nothing new is queued.
	first := lw.Deliveries()[0]
	req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(first.Body))
	req.Header.Set("Learnworlds-Webhook-Signature", first.Signature)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("redelivery answered %d", resp.StatusCode)
	}
	if n, _ := eng.RunOnce(ctx); n != 0 {
		t.Fatalf("a redelivery queued %d jobs", n)
	}
}
