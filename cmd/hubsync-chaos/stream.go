package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sync"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// The mapped fields. Each direction has its own, so the value every field should end with is the
// last one the stream set, whatever the conflict rule: LMS -> HubSpot company -> company and
// location -> city; HubSpot -> LMS jobtitle -> bio and country -> country.
var (
	outFields = [][2]string{{"company", "company"}, {"location", "city"}} // LMS field, HubSpot property
	inFields  = [][2]string{{"bio", "jobtitle"}, {"country", "country"}}  // LMS field, HubSpot property
)

// settingsJSON is the school's settings: two-way, one row per field above, lifecycle updates on.
const settingsJSON = `{
  "mode": "two_way",
  "mappings": [
    {"lms_field": "company", "hubspot_property": "company", "direction": "to_hubspot"},
    {"lms_field": "location", "hubspot_property": "city", "direction": "to_hubspot"},
    {"lms_field": "bio", "hubspot_property": "jobtitle", "direction": "to_lms"},
    {"lms_field": "country", "hubspot_property": "country", "direction": "to_lms"}
  ],
  "update_lifecycle_stage": true
}
`

// learnerRecord is what the stream did to one learner: the last value it set for each field,
// and how many of each activity it made.
type learnerRecord struct {
	idx        int
	email      string
	registered bool                      // signed up during the run
	out        map[string]string         // HubSpot property -> last LMS value set
	in         map[string]string         // LMS field -> last HubSpot value set
	acts       map[hubsync.EventKind]int // activities made
}

// ledger is the record of every change the stream made.
type ledger struct {
	mu       sync.Mutex
	learners []*learnerRecord
	probes   []*learnerRecord // learners only probes touch
	counts   map[string]int   // kind of change -> how many
}

// stream makes the changes. LearnWorlds operations run one at a time (lwMu) so a webhook body
// leaves the fake in the order of the changes; HubSpot edits likewise (hsMu).
type stream struct {
	lw  *learnworldstest.Server
	hs  *hubspottest.Server
	led *ledger

	lwMu, hsMu sync.Mutex
	rnd        *rand.Rand // guarded by lwMu for LearnWorlds, hsRnd by hsMu
	hsRnd      *rand.Rand
	seq        int      // guarded by lwMu
	newSeq     int      // guarded by lwMu
	outProbes  int      // guarded by lwMu
	inProbes   int      // guarded by hsMu
	errs       []string // guarded by led.mu
}

const probeLearners = 12

// seed fills both fakes: n learners in LearnWorlds (signed up a year ago, so a first webhook about
// them is not a sign-up), and a HubSpot contact for each so HubSpot edits have something to edit.
func seedFakes(lw *learnworldstest.Server, hs *hubspottest.Server, n int) (*ledger, error) {
	led := &ledger{counts: map[string]int{}}
	created := float64(time.Now().Add(-365 * 24 * time.Hour).Unix())
	for i := range n + probeLearners {
		email := fmt.Sprintf("learner%05d@example.com", i)
		if _, err := lw.AddUser(learnworldstest.User{Email: email, Username: fmt.Sprintf("learner%05d", i), Created: created,
			Fields: map[string]any{}}); err != nil {
			return nil, err
		}
		if _, err := hs.SeedContact(map[string]string{"email": email}); err != nil {
			return nil, err
		}
		r := &learnerRecord{idx: i, email: email, out: map[string]string{}, in: map[string]string{}, acts: map[hubsync.EventKind]int{}}
		if i < n {
			led.learners = append(led.learners, r)
		} else {
			led.probes = append(led.probes, r)
		}
	}
	return led, nil
}

// emailRE finds email addresses, which the report masks.
var emailRE = regexp.MustCompile(`[^\s"'<>@]+@[^\s"'<>@]+`)

func (s *stream) fail(err error) {
	s.led.mu.Lock()
	defer s.led.mu.Unlock()
	if len(s.errs) < 20 {
		s.errs = append(s.errs, emailRE.ReplaceAllStringFunc(err.Error(), hubsync.MaskEmail))
	}
}

// runLMS makes LearnWorlds changes and activities at rate per second until ctx ends.
func (s *stream) runLMS(ctx context.Context, rate float64) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// A change once started runs to its end, webhook included, even when the stream stops
		// meanwhile: LearnWorlds applies it before emitting the webhook, so one cut short would
		// hold a value the ledger never recorded and whose webhook never left.
		if err := s.lmsStep(context.WithoutCancel(ctx)); err != nil {
			s.fail(err)
		}
	}
}

var courses = []learnworldstest.Course{{ID: "c-go", Title: "Go"}, {ID: "c-sql", Title: "SQL"}, {ID: "c-ops", Title: "Ops"}}

// lmsStep makes one random LearnWorlds change or activity.
func (s *stream) lmsStep(ctx context.Context) error {
	s.lwMu.Lock()
	defer s.lwMu.Unlock()
	s.led.mu.Lock()
	r := s.led.learners[s.rnd.IntN(len(s.led.learners))]
	s.led.mu.Unlock()
	s.seq++
	c := courses[s.rnd.IntN(len(courses))]
	switch p := s.rnd.IntN(100); {
	case p < 55:
		f := outFields[s.rnd.IntN(len(outFields))]
		v := fmt.Sprintf("%s-%d", f[0], s.seq)
		if _, err := s.lw.Update(ctx, r.email, func(u *learnworldstest.User) { u.Fields[f[0]] = v }); err != nil {
			return err
		}
		s.record("lms change", func() { r.out[f[1]] = v })
	case p < 67:
		if err := s.lw.Enroll(ctx, r.email, c); err != nil {
			return err
		}
		s.record("enrolment", func() { r.acts[hubsync.EventEnrolled]++ })
	case p < 75:
		if _, err := s.lw.Purchase(ctx, r.email, learnworldstest.Payment{ProductID: c.ID, ProductType: "course", ProductName: c.Title, Price: 10}); err != nil {
			return err
		}
		s.record("purchase", func() { r.acts[hubsync.EventPurchaseMade]++ })
	case p < 83:
		if err := s.lw.CompleteCourse(ctx, r.email, c); err != nil {
			return err
		}
		s.record("course completion", func() { r.acts[hubsync.EventCourseCompleted]++ })
	case p < 90:
		if err := s.lw.AwardCertificate(ctx, r.email, c); err != nil {
			return err
		}
		s.record("certificate", func() { r.acts[hubsync.EventCertificateAwarded]++ })
	default:
		s.newSeq++
		email := fmt.Sprintf("signup%05d@example.com", s.newSeq)
		v := fmt.Sprintf("company-%d", s.seq)
		if _, err := s.lw.Register(ctx, learnworldstest.User{Email: email, Username: fmt.Sprintf("signup%05d", s.newSeq), Fields: map[string]any{"company": v}}); err != nil {
			return err
		}
		s.record("sign-up", func() {
			s.led.learners = append(s.led.learners, &learnerRecord{idx: -s.newSeq, email: email, registered: true,
				out: map[string]string{"company": v}, in: map[string]string{}, acts: map[hubsync.EventKind]int{}})
		})
	}
	return nil
}

func (s *stream) record(kind string, fn func()) {
	s.led.mu.Lock()
	defer s.led.mu.Unlock()
	fn()
	s.led.counts[kind]++
}

// runHubSpot makes HubSpot edits (as a CRM user) at rate per second until ctx ends.
func (s *stream) runHubSpot(ctx context.Context, rate float64) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := s.hubspotStep(); err != nil {
			s.fail(err)
		}
	}
}

func (s *stream) hubspotStep() error {
	s.hsMu.Lock()
	defer s.hsMu.Unlock()
	s.led.mu.Lock()
	var r *learnerRecord
	for r == nil || r.registered { // learners signed up during the run may not be in HubSpot yet
		r = s.led.learners[s.hsRnd.IntN(len(s.led.learners))]
	}
	s.led.mu.Unlock()
	f := inFields[s.hsRnd.IntN(len(inFields))]
	v := fmt.Sprintf("hs-%s-%d-%d", f[1], r.idx, s.hsRnd.Int64N(1e12))
	if _, err := s.hs.AdminUpsertContact(r.email, map[string]string{f[1]: v}, hubspottest.SourceCRMUI); err != nil {
		return err
	}
	s.record("hubspot edit", func() { r.in[f[0]] = v })
	return nil
}

// probeOut makes one LMS change on a probe learner and returns a function reporting whether it
// has landed in HubSpot.
func (s *stream) probeOut(ctx context.Context) (func() bool, error) {
	s.lwMu.Lock()
	defer s.lwMu.Unlock()
	s.outProbes++
	r := s.led.probes[s.outProbes%len(s.led.probes)]
	v := fmt.Sprintf("probe-%d", s.outProbes)
	if _, err := s.lw.Update(ctx, r.email, func(u *learnworldstest.User) { u.Fields["company"] = v }); err != nil {
		return nil, err
	}
	s.record("lms change", func() { r.out["company"] = v })
	return func() bool {
		c, ok := s.hs.Contact(r.email)
		return ok && c.Properties["company"] == v
	}, nil
}

// probeIn makes one HubSpot edit on a probe learner and returns a function reporting whether it
// has landed in LearnWorlds.
func (s *stream) probeIn() (func() bool, error) {
	s.hsMu.Lock()
	defer s.hsMu.Unlock()
	s.inProbes++
	r := s.led.probes[(s.inProbes*7)%len(s.led.probes)]
	v := fmt.Sprintf("hs-probe-%d", s.inProbes)
	if _, err := s.hs.AdminUpsertContact(r.email, map[string]string{"jobtitle": v}, hubspottest.SourceCRMUI); err != nil {
		return nil, err
	}
	s.record("hubspot edit", func() { r.in["bio"] = v })
	return func() bool {
		u, ok := s.lw.User(r.email)
		return ok && u.Fields["bio"] == v
	}, nil
}
