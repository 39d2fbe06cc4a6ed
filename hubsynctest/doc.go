// Package hubsynctest helps test code that embeds hubsync, and hubsync itself: a fake Clock whose
// Advance fires due timers (so no test sleeps), an in-memory Store and Queue (MemStore) that pass
// the same conformance suite (store/storetest) as the SQLite and PostgreSQL adapters, and an
// in-memory LMS (Learners).
//
// # Assertions
//
// A host that tests its embedding against the fake HubSpot (hubspot/hubspottest) checks the
// outcome with the Require helpers. Each takes a TB (a *testing.T will do), stops the test with
// one message naming every mismatch, and masks email addresses in it:
//
//   - [RequireContact]: HubSpot holds a contact for an email with these property values.
//   - [RequireNoContact]: HubSpot holds no contact for an email.
//   - [RequireTimelineEvents]: a contact's timeline events are exactly these kinds, in any order.
//   - [RequireQueueDrained]: a school has no job left in the queue, dead letters included.
//   - [RequireLearner]: the in-memory LMS holds a learner with these field values.
//
// For example, after the engine ran:
//
//	hubsynctest.RequireContact(t, hs, "ada@example.com", map[string]string{"firstname": "Ada"})
//	hubsynctest.RequireTimelineEvents(t, hs, "ada@example.com", hubsync.EventSignedUp)
//	hubsynctest.RequireQueueDrained(ctx, t, store, school)
//
// Nothing here is for production: the in-memory store forgets everything when the process ends.
package hubsynctest
