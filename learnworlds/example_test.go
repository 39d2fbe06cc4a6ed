package learnworlds_test

import (
	"context"
	"fmt"

	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// Example lists a school's users against the fake LearnWorlds school.
func Example() {
	school := learnworldstest.NewServer()
	defer school.Close()
	_ = school.Seed(3, nil)

	c, err := learnworlds.New(learnworlds.Config{
		BaseURL:      school.URL, // "https://yourschool.learnworlds.com" for a real school
		ClientID:     school.ClientID,
		ClientSecret: school.ClientSecret,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for u, err := range c.Users(context.Background(), learnworlds.ListUsersOptions{}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(u.Username)
	}
	// Output:
	// learner2
	// learner1
	// learner0
}

// ExampleParseWebhook verifies and parses a delivery.
func ExampleParseWebhook() {
	body := []byte(`{"version":2,"type":"userTagAdded","trigger":"user_tag_added","school_id":"s1",
		"data":{"id":"u1","email":"jane@example.com","tags":["vip","alumni"],"utms":{"fc_source":"newsletter"}}}`)
	v := learnworlds.Verifier{Secret: "from-settings"}
	if err := v.Verify("v1=from-settings", body); err != nil {
		fmt.Println(err)
		return
	}
	ev, err := learnworlds.ParseWebhook(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ev.Type, ev.User.ID, ev.User.Tags, *ev.User.UTMs["fc_utm_source"])
	// Output: userTagAdded u1 [vip alumni] newsletter
}
