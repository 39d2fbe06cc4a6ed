// Package hubsynctest helps test code that embeds hubsync, and hubsync itself: a fake Clock whose
// Advance fires due timers (so no test sleeps), and an in-memory Store and Queue that pass the same
// conformance suite (store/storetest) as the SQLite and PostgreSQL adapters.
//
// Nothing here is for production: the in-memory store forgets everything when the process ends.
package hubsynctest
