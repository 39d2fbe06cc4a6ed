package hubsynctest_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/hubsynctest"
)

// recorder is a hubsynctest.TB that records failures instead of ending the test.
type recorder struct {
	helper bool
	fatals []string
	errors []string
}

func (r *recorder) Helper() { r.helper = true }
func (r *recorder) Errorf(f string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(f, args...))
}
func (r *recorder) Fatalf(f string, args ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(f, args...))
}
func (r *recorder) failed() bool    { return len(r.fatals)+len(r.errors) > 0 }
func (r *recorder) message() string { return strings.Join(append(r.fatals, r.errors...), "\n") }

var _ hubsynctest.TB = (*recorder)(nil)
var _ hubsynctest.TB = testing.TB(nil)

// passes checks that a helper accepted what it was given.
func passes(t *testing.T, r *recorder) {
	t.Helper()
	if !r.helper {
		t.Error("helper did not call Helper")
	}
	if r.failed() {
		t.Errorf("helper failed: %s", r.message())
	}
}

// fails checks that a helper failed exactly once, with Fatalf, with a message holding every one
// of parts and no full email address.
func fails(t *testing.T, r *recorder, parts ...string) {
	t.Helper()
	if len(r.fatals) != 1 || len(r.errors) != 0 {
		t.Fatalf("want one Fatalf, got fatals %q, errors %q", r.fatals, r.errors)
	}
	msg := r.fatals[0]
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("message %q does not contain %q", msg, p)
		}
	}
	for _, e := range []string{"ada@example.com", "bob@example.com", "old@example.com"} {
		if strings.Contains(msg, e) {
			t.Errorf("message %q holds the full email %s", msg, e)
		}
	}
}

type bundle struct {
	ctx    context.Context
	hs     *hubspottest.Server
	store  *hubsynctest.MemStore
	lms    *hubsynctest.Learners
	eng    *hubsync.Engine
	school hubsync.SchoolID
}

// setup connects a school of an engine on the in-memory store and LMS to the fake HubSpot, with
// first_name mapped to firstname.
func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := t.Context()
	hs := hubspottest.NewServer()
	t.Cleanup(hs.Close)
	b := &bundle{ctx: ctx, hs: hs, store: hubsynctest.NewMemStore(hubsynctest.WithMemMaxAttempts(1)),
		lms: hubsynctest.NewLearners(0), school: "school-1"}
	eng, err := hubsync.New(hubsync.Config{
		Store: b.store, Queue: b.store, Learners: b.lms, Logger: slog.New(slog.DiscardHandler),
		HubSpot: hubsync.HubSpotApp{ClientID: hs.ClientID(), ClientSecret: hs.ClientSecret(), BaseURL: hs.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	b.eng = eng
	_, refresh := hs.MintToken()
	if _, err := eng.ConnectWithRefreshToken(ctx, b.school, refresh); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.SaveSettings(ctx, b.school, hubsync.Settings{Mappings: []hubsync.Mapping{
		{LMSField: "first_name", HubSpotProperty: "firstname"},
		{LMSField: "country", HubSpotProperty: "country"},
	}}); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *bundle) change(t *testing.T, email string, values map[string]any) {
	t.Helper()
	if err := b.eng.LearnerChanged(b.ctx, b.school, hubsync.Learner{Email: email, Values: values}); err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) record(t *testing.T, email string, kind hubsync.EventKind, subjectID string) {
	t.Helper()
	a := hubsync.Activity{Kind: kind, Email: email, SubjectID: subjectID, Subject: subjectID, At: time.Unix(1_780_000_000, 0)}
	if err := b.eng.Record(b.ctx, b.school, a); err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) run(t *testing.T) {
	t.Helper()
	if _, err := b.eng.RunOnce(b.ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRequireContact(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.change(t, "Ada@Example.com", map[string]any{"first_name": "Ada", "country": "GR"})
	b.run(t)

	t.Run("Passes", func(t *testing.T) {
		t.Parallel()
		r := &recorder{}
		c := hubsynctest.RequireContact(r, b.hs, "ada@example.com", map[string]string{"firstname": "Ada", "country": "GR", "phone": ""})
		passes(t, r)
		if c.ID == "" || c.Properties["firstname"] != "Ada" {
			t.Errorf("returned contact = %+v", c)
		}
	})
	t.Run("ListsEveryDifferingProperty", func(t *testing.T) {
		t.Parallel()
		r := &recorder{}
		hubsynctest.RequireContact(r, b.hs, "ada@example.com", map[string]string{
			"firstname": "Ann", "country": "GR", "phone": "123", "email": "old@example.com",
		})
		fails(t, r, "a***@example.com", "3 of 4 properties differ",
			`firstname: want "Ann", got "Ada"`, `phone: want "123", got unset`,
			`email: want "o***@example.com", got "a***@example.com"`)
		if strings.Contains(r.message(), "country") {
			t.Errorf("a matching property is listed: %s", r.message())
		}
	})
	t.Run("FailsWithoutContact", func(t *testing.T) {
		t.Parallel()
		r := &recorder{}
		hubsynctest.RequireContact(r, b.hs, "bob@example.com", nil)
		fails(t, r, "no contact for b***@example.com")
	})
}

func TestRequireNoContact(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.change(t, "ada@example.com", map[string]any{"first_name": "Ada"})
	b.run(t)

	r := &recorder{}
	hubsynctest.RequireNoContact(r, b.hs, "bob@example.com")
	passes(t, r)

	r = &recorder{}
	hubsynctest.RequireNoContact(r, b.hs, "ADA@example.com")
	fails(t, r, "holds contact", "for A***@example.com, want none")
}

func TestRequireTimelineEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.record(t, "ada@example.com", hubsync.EventSignedUp, "")
	b.record(t, "ada@example.com", hubsync.EventEnrolled, "course-a")
	b.record(t, "ada@example.com", hubsync.EventEnrolled, "course-b")
	b.record(t, "bob@example.com", hubsync.EventSignedUp, "")
	b.run(t)

	t.Run("PassesInAnyOrder", func(t *testing.T) {
		t.Parallel()
		r := &recorder{}
		evs := hubsynctest.RequireTimelineEvents(r, b.hs, "ada@example.com",
			hubsync.EventEnrolled, hubsync.EventSignedUp, hubsync.EventEnrolled)
		passes(t, r)
		if len(evs) != 3 {
			t.Errorf("returned %d events, want 3", len(evs))
		}
	})
	t.Run("CountsMatter", func(t *testing.T) {
		t.Parallel()
		r := &recorder{}
		hubsynctest.RequireTimelineEvents(r, b.hs, "ada@example.com", hubsync.EventEnrolled, hubsync.EventSignedUp)
		fails(t, r, "a***@example.com",
			"want [enrolled_in_course, signed_up], got [enrolled_in_course x2, signed_up]")
	})
	t.Run("OnlyTheContactsOwnEvents", func(t *testing.T) {
		t.Parallel()
		r := &recorder{}
		hubsynctest.RequireTimelineEvents(r, b.hs, "bob@example.com", hubsync.EventSignedUp)
		passes(t, r)
	})
	t.Run("NoKindsAndNoContactPasses", func(t *testing.T) {
		t.Parallel()
		r := &recorder{}
		hubsynctest.RequireTimelineEvents(r, b.hs, "nobody@example.com")
		passes(t, r)
	})
	t.Run("KindsButNoContactFails", func(t *testing.T) {
		t.Parallel()
		r := &recorder{}
		hubsynctest.RequireTimelineEvents(r, b.hs, "old@example.com", hubsync.EventDeleted)
		fails(t, r, "no contact for o***@example.com, want timeline events [deleted]")
	})
}

func TestRequireQueueDrained(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.change(t, "ada@example.com", map[string]any{"first_name": "Ada"})

	r := &recorder{}
	hubsynctest.RequireQueueDrained(b.ctx, r, b.store, b.school)
	fails(t, r, "queue of school school-1 not drained: 1 ready, 0 scheduled, 0 leased, 0 dead")

	b.run(t)
	r = &recorder{}
	hubsynctest.RequireQueueDrained(b.ctx, r, b.store, b.school)
	passes(t, r)

	// A job that fails its only attempt (MaxAttempts 1) is dead-lettered, and its error shown.
	if err := b.store.Enqueue(b.ctx, hubsync.JobSpec{School: b.school, Kind: "host_job"}); err != nil {
		t.Fatal(err)
	}
	jobs, err := b.store.Dequeue(b.ctx, hubsync.DequeueOptions{Kinds: []hubsync.JobKind{"host_job"}})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("dequeue = %v, %v", jobs, err)
	}
	if err := b.store.Retry(b.ctx, jobs[0], time.Now(), "portal said no"); err != nil {
		t.Fatal(err)
	}
	r = &recorder{}
	hubsynctest.RequireQueueDrained(b.ctx, r, b.store, b.school)
	fails(t, r, "0 ready, 0 scheduled, 0 leased, 1 dead", fmt.Sprintf("dead job %d (host_job, 1 attempts): portal said no", jobs[0].ID))

	r = &recorder{}
	ctx, cancel := context.WithCancel(b.ctx)
	cancel()
	hubsynctest.RequireQueueDrained(ctx, r, b.store, b.school)
	fails(t, r, "queue stats of school school-1", "context canceled")
}

func TestRequireLearner(t *testing.T) {
	t.Parallel()
	lms := hubsynctest.NewLearners(0)
	lms.Put("school-1", hubsync.Learner{Email: "Ada@example.com", Username: "ada", Values: map[string]any{"country": "GR", "graduation_year": 2020.0}})

	r := &recorder{}
	ln := hubsynctest.RequireLearner(r, lms, "school-1", "ada@example.com", map[string]any{
		"email": "Ada@example.com", "username": "ada", "country": "GR", "graduation_year": 2020.0, "phone": nil,
	})
	passes(t, r)
	if ln.ID == "" {
		t.Errorf("returned learner = %+v", ln)
	}

	r = &recorder{}
	hubsynctest.RequireLearner(r, lms, "school-1", "ada@example.com", map[string]any{
		"email": "old@example.com", "country": "GR", "graduation_year": 2020, "phone": "123",
	})
	fails(t, r, "learner a***@example.com", "3 of 4 fields differ",
		`email: want "o***@example.com", got "A***@example.com"`,
		"graduation_year: want 2020 (int), got 2020 (float64)", `phone: want "123", got unset`)

	r = &recorder{}
	hubsynctest.RequireLearner(r, lms, "school-2", "ada@example.com", nil)
	fails(t, r, "school school-2 has no learner a***@example.com")
}
