package hubspot_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hubsync/hubsync/hubspot"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

// Example_batchUpsert connects a client to the fake HubSpot and upserts two learners, one of
// them with a value HubSpot refuses: the bad record is isolated and the other is written.
func Example_batchUpsert() {
	srv := hubspottest.NewServer()
	defer srv.Close()
	access, refresh := srv.MintToken()
	expiry, _ := srv.TokenExpiry(access)

	oa, _ := hubspot.NewOAuth(hubspot.App{ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), RedirectURL: "https://school.example.com/cb"},
		hubspot.WithBaseURL(srv.URL))
	tokens := oa.TokenSource(&hubspot.Token{AccessToken: access, RefreshToken: refresh, Expiry: expiry},
		func(ctx context.Context, t *hubspot.Token) error { return nil /* store t */ })
	c, _ := hubspot.New(hubspot.WithBaseURL(srv.URL), hubspot.WithTokenSource(tokens))

	res, err := c.BatchUpsertByEmail(context.Background(), []hubspot.UpsertInput{
		{Email: "Ada@Example.com", Properties: map[string]string{"firstname": "Ada", "lifecyclestage": "lead"}},
		{Email: "bob@example.com", Properties: map[string]string{"date_of_birth": "1990-02-30"}},
	})
	if err != nil {
		fmt.Println("batch failed:", err)
		return
	}
	for _, r := range res {
		if r.Err != nil {
			fmt.Println(hubspot.MaskEmail(r.Email), "refused:", r.Err.(*hubspot.APIError).Errors[0].Code)
			continue
		}
		fmt.Println(hubspot.MaskEmail(r.Email), "created:", r.Created)
	}
	// Output:
	// a***@example.com created: true
	// b***@example.com refused: INVALID_DATE
}

// ExampleVerifyRequest shows a webhook handler: read the raw body, verify the signature against
// the public URL HubSpot called, then parse and acknowledge fast.
func ExampleVerifyRequest() {
	secret := "client-secret"
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, hubspot.MaxWebhookBody))
		if err != nil {
			http.Error(w, "read error", http.StatusBadRequest)
			return
		}
		public := "https://hooks.example.com" + r.URL.RequestURI()
		if err := hubspot.VerifyRequest(r, public, body, secret, time.Now()); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		events, err := hubspot.ParseWebhookEvents(body)
		if err != nil {
			http.Error(w, "bad payload", http.StatusBadRequest)
			return
		}
		_ = events // hand to a queue; answer within 5 s
		w.WriteHeader(http.StatusNoContent)
	})
	_ = handler
}
