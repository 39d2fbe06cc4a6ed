package hubsync_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// TestLMSBacklogDoesNotDelayLiveHubSpotWork: 5,000 HubSpot -> LMS writes queue up behind
// LearnWorlds' real limit (30 requests per 10 s, each write a read and a write: about an hour of
// work), then a learner changes in the LMS. The change lands in HubSpot while the LMS lane has
// made only a few more LearnWorlds requests (at 3 a second, 15 is 5 s of LearnWorlds' budget):
// live HubSpot-bound work never waits behind the LMS budget. Had it waited for a worker to finish
// one batch of the backlog, 200 requests would have gone by.
//
// The clock is fake and races ahead whenever every goroutine waits on it, so the LMS's own
// request count, not the clock, measures how long the change waited.
func TestLMSBacklogDoesNotDelayLiveHubSpotWork(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	lw := learnworldstest.NewServer(learnworldstest.WithClock(h.clk))
	t.Cleanup(lw.Close)
	client, err := learnworlds.New(learnworlds.Config{BaseURL: lw.URL, ClientID: lw.ClientID, ClientSecret: lw.ClientSecret, Clock: h.clk})
	if err != nil {
		t.Fatal(err)
	}
	learners, err := learnworlds.NewLearners(map[hubsync.SchoolID]learnworlds.School{school: {Client: client}})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := hubsync.New(hubsync.Config{
		Store: h.store, Queue: h.store, Learners: learners, Clock: h.clk, Logger: testLogger(t),
		HubSpot: hubsync.HubSpotApp{ClientID: h.hs.ClientID(), ClientSecret: h.hs.ClientSecret(), AppID: h.hs.AppID(),
			RedirectURL: redirect, BaseURL: h.hs.URL, AuthorizeURL: h.hs.URL + "/oauth/authorize"},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.eng = eng
	h.connect()
	h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeTwoWay, Mappings: inboundMapping})
	const backlog = 5000
	if err := lw.Seed(backlog, func(i int, u *learnworldstest.User) { u.Fields = map[string]any{"country": "GR"} }); err != nil {
		t.Fatal(err)
	}
	for i := range backlog {
		h.admin(fmt.Sprintf("learner%d@example.com", i), map[string]string{"country": "FR"})
	}
	h.flush()
	if st, err := h.store.Stats(h.ctx, school); err != nil || st.Ready < backlog/100 {
		t.Fatalf("backlog not queued: %+v, %v", st, err)
	}

	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	// Let the LMS workers get into the backlog (the fake clock races through their waits).
	for start := h.clk.Now(); h.clk.Now().Sub(start) < 30*time.Second; {
		runtime.Gosched()
	}
	before := lw.Stats().Requests
	h.change(hubsync.Learner{Email: "live@school.example", Values: map[string]any{"country": "PT"}})
	for h.contact("live@school.example")["country"] != "PT" {
		if n := lw.Stats().Requests - before; n > 15 {
			st, _ := h.store.Stats(h.ctx, school)
			t.Fatalf("the live change has not reached HubSpot after %d more LearnWorlds requests of the backlog (queue %+v)", n, st)
		}
		runtime.Gosched()
	}
	t.Logf("live change landed after %d LearnWorlds requests of the backlog, behind %d queued LMS writes", lw.Stats().Requests-before, backlog)
	if u, _ := lw.User("learner0@example.com"); u.Fields["country"] != "FR" {
		t.Logf("the LMS backlog is still being worked through (learner0 country %v)", u.Fields["country"])
	}
}
