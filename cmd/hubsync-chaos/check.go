package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot"
)

// verdict compares both fakes with the ledger.
type verdict struct {
	OutFields int `json:"lms_to_hubspot_fields"` // learner fields the stream changed in the LMS
	OutLanded int `json:"lms_to_hubspot_landed"` // of which HubSpot holds the latest value
	// OutKept counts, of OutFields, those the LMS itself still holds with the value the stream
	// set: hubsync's own writes to the learner (HubSpot -> LMS) must never send an LMS field back
	// with an older value.
	OutKept      int `json:"lms_fields_kept"`
	InFields     int `json:"hubspot_to_lms_fields"` // contact properties the stream changed in HubSpot
	InLanded     int `json:"hubspot_to_lms_landed"` // of which the learner holds the latest value
	SignupsMade  int `json:"signups"`
	SignupsFound int `json:"signups_in_hubspot"` // learners signed up during the run whose contact exists
	// Timeline events, by kind: expected (once-kinds: 1 per learner that qualifies), on HubSpot's
	// timeline, missing and extra.
	Events map[hubsync.EventKind]*eventCount `json:"events"`
	// OnceTwice counts learners with a once-kind event on the timeline more than once, or one that
	// should not be there (a sign-up event for a learner who did not sign up).
	OnceTwice int `json:"once_events_twice"`
	// RepeatTwice counts repeatable events beyond their occurrences.
	RepeatTwice int `json:"repeatable_events_extra"`
	// EventsLost counts expected events missing from the timeline.
	EventsLost int `json:"events_lost"`
	// Lost is LMS -> HubSpot and HubSpot -> LMS fields without their latest value (on the other
	// side, or reverted on the LMS side), plus sign-ups
	// without a contact, plus EventsLost.
	Lost int `json:"lost"`
	// OnceResent and RepeatResent count timeline events HubSpot accepted again with the same id
	// (a resend after a crash: HubSpot keeps one entry per id, so the timeline shows it once).
	OnceResent   int `json:"once_events_resent_same_id"`
	RepeatResent int `json:"repeatable_events_resent_same_id"`
	// Mismatches names the first values found wrong (learner number, field, the value wanted and
	// the value found), so a loss can be traced in the serve log.
	Mismatches []string `json:"mismatches,omitempty"`
}

type eventCount struct {
	Expected int `json:"expected"`
	Found    int `json:"found"`
	Missing  int `json:"missing"`
	Extra    int `json:"extra"`
}

// check compares the fakes with the ledger.
func (c *chaos) check() verdict {
	v := verdict{Events: map[hubsync.EventKind]*eventCount{}}
	byEmail := map[string]map[hubsync.EventKind]int{}
	for _, e := range c.hs.TimelineEvents() {
		k := hubsync.EventKind(strings.TrimPrefix(e.Type, "hubsync_"))
		em := hubspot.FoldEmail(e.Email)
		if byEmail[em] == nil {
			byEmail[em] = map[hubsync.EventKind]int{}
		}
		byEmail[em][k]++
	}
	led := c.st.led
	led.mu.Lock()
	all := append(append([]*learnerRecord(nil), led.learners...), led.probes...)
	for _, r := range all {
		ct, ok := c.hs.Contact(r.email)
		for prop, want := range r.out {
			v.OutFields++
			if ok && ct.Properties[prop] == want {
				v.OutLanded++
			} else {
				v.mismatch("LMS -> HubSpot: learner %d (%s) %s: want %q, HubSpot has %q (contact found %v)", r.idx, r.email, prop, want, ct.Properties[prop], ok)
			}
		}
		if r.registered {
			v.SignupsMade++
			if ok {
				v.SignupsFound++
			}
		}
		u, uok := c.lw.User(r.email)
		for prop, want := range r.out {
			field := prop
			for _, f := range outFields {
				if f[1] == prop {
					field = f[0]
				}
			}
			if uok && u.Fields[field] == want {
				v.OutKept++
			} else {
				v.mismatch("LMS kept: learner %d (%s) %s: want %q, LearnWorlds has %v (learner found %v)", r.idx, r.email, field, want, u.Fields[field], uok)
			}
		}
		for field, want := range r.in {
			v.InFields++
			if uok && u.Fields[field] == want {
				v.InLanded++
			} else {
				v.mismatch("HubSpot -> LMS: learner %d (%s) %s: want %q, LearnWorlds has %v (learner found %v)", r.idx, r.email, field, want, u.Fields[field], uok)
			}
		}
		want := map[hubsync.EventKind]int{}
		for k, n := range r.acts {
			want[k] = n
		}
		if r.registered {
			want[hubsync.EventSignedUp] = 1
		}
		if r.acts[hubsync.EventPurchaseMade] > 0 {
			want[hubsync.EventFirstPurchase] = 1
		}
		got := byEmail[hubspot.FoldEmail(r.email)]
		kinds := map[hubsync.EventKind]bool{}
		for k := range want {
			kinds[k] = true
		}
		for k := range got {
			kinds[k] = true
		}
		for k := range kinds {
			ec := v.Events[k]
			if ec == nil {
				ec = &eventCount{}
				v.Events[k] = ec
			}
			ec.Expected += want[k]
			ec.Found += got[k]
			if d := want[k] - got[k]; d > 0 {
				ec.Missing += d
				v.EventsLost += d
			} else if d < 0 {
				ec.Extra -= d
				if k.Once() {
					v.OnceTwice++
				} else {
					v.RepeatTwice -= d
				}
			}
		}
	}
	led.mu.Unlock()
	v.Lost = (v.OutFields - v.OutLanded) + (v.OutFields - v.OutKept) + (v.InFields - v.InLanded) + (v.SignupsMade - v.SignupsFound) + v.EventsLost
	isOnce := func(typ string) bool { return hubsync.EventKind(strings.TrimPrefix(typ, "hubsync_")).Once() }
	v.OnceResent = c.proxy.resent(isOnce)
	v.RepeatResent = c.proxy.resent(func(t string) bool { return !isOnce(t) })
	return v
}

// mismatch records a wrong value, the first 20 of them.
func (v *verdict) mismatch(format string, args ...any) {
	if len(v.Mismatches) < 20 {
		v.Mismatches = append(v.Mismatches, fmt.Sprintf(format, args...))
	}
}

// drain waits, after the stream stopped and every fault ended, until everything has landed: the
// relays have delivered every webhook, the queue holds no job that is due or leased, and the
// fakes match the ledger. It gives up after limit and returns the last verdict, whether the
// server drained, and how long it took.
func (c *chaos) drain(ctx context.Context, relays []*relay, limit time.Duration) (verdict, bool, time.Duration) {
	start := time.Now()
	deadline := start.Add(limit)
	var v verdict
	idleFor := 0
	for {
		v = c.check()
		pending := 0
		for _, r := range relays {
			pending += r.pending()
		}
		idle := false
		if pending == 0 {
			if st, err := c.h.status(ctx); err == nil {
				q := st.Queue
				idle = q.Ready == 0 && q.Leased == 0 && q.Scheduled == 0
			}
		}
		if idle {
			idleFor++
		} else {
			idleFor = 0
		}
		// Idle for 5 polls in a row: nothing more is coming.
		if (idle && v.Lost == 0) || idleFor >= 5 || time.Now().After(deadline) || ctx.Err() != nil {
			return v, idle, time.Since(start)
		}
		_ = sleep(ctx, time.Second)
	}
}
