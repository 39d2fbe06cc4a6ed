package hubspottest_test

import (
	"context"
	"fmt"

	"github.com/hubsync/hubsync/hubspot"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

// Example connects a client to the fake, writes a contact, and reads it back through the fake's
// admin view.
func Example() {
	srv := hubspottest.NewServer()
	defer srv.Close()

	oa, _ := hubspot.NewOAuth(srv.App("https://school.example.com/callback"), srv.ClientOptions()...)
	ts := oa.TokenSource(srv.Token(), nil)
	c, _ := hubspot.New(append(srv.ClientOptions(), hubspot.WithTokenSource(ts))...)

	if _, err := c.BatchUpsertByEmail(context.Background(), []hubspot.UpsertInput{
		{Email: "ada@example.com", Properties: map[string]string{"firstname": "Ada"}},
	}); err != nil {
		fmt.Println(err)
		return
	}
	ct, _ := srv.Contact("ada@example.com")
	fmt.Println(ct.Properties["firstname"], srv.Stats().Requests)
	// Output: Ada 1
}
