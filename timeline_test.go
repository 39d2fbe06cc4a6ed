package hubsync

import (
	"regexp"
	"testing"
	"time"
)

func TestEventKinds(t *testing.T) {
	t.Parallel()
	once := map[EventKind]bool{EventSignedUp: true, EventDeleted: true, EventFirstPurchase: true}
	for _, k := range EventKinds() {
		if err := k.Validate(); err != nil {
			t.Error(err)
		}
		if k.Once() != once[k] {
			t.Errorf("%s.Once() = %v", k, k.Once())
		}
	}
	if len(EventKinds()) != 11 {
		t.Errorf("%d kinds", len(EventKinds()))
	}
	if EventKind("login").Validate() == nil {
		t.Error("unknown kind validated")
	}
}

func TestOccurrenceIDs(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	base := Activity{Kind: EventEnrolled, Email: "Ann@Example.com", At: at, Subject: "Course A", SubjectID: "course-a"}
	idRe := regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

	same := base
	same.Email = "ann@example.com " // case and space do not make another learner
	if base.OccurrenceID("s1") != same.OccurrenceID("s1") {
		t.Error("email case changed the id")
	}
	other := base
	other.SubjectID, other.Subject = "course-b", "Course B"
	later := base
	later.At = at.Add(time.Hour)
	ids := map[string]string{
		"base":         base.OccurrenceID("s1"),
		"other course": other.OccurrenceID("s1"),
		"later":        later.OccurrenceID("s1"),
		"other school": base.OccurrenceID("s2"),
	}
	seen := map[string]string{}
	for name, id := range ids {
		if !idRe.MatchString(id) {
			t.Errorf("%s id %q is not [a-z0-9-]{1,64}", name, id)
		}
		if prev, dup := seen[id]; dup {
			t.Errorf("%s and %s share id %s", name, prev, id)
		}
		seen[id] = name
	}

	// A redelivered source event is one occurrence whatever else differs.
	a1 := base
	a1.SourceID = "wh-123"
	a2 := a1
	a2.At = at.Add(time.Minute)
	if a1.OccurrenceID("s1") != a2.OccurrenceID("s1") {
		t.Error("same SourceID gave two ids")
	}

	// Once-kinds: one id per learner and kind, whatever the occurrence.
	s1 := Activity{Kind: EventSignedUp, Email: "a@b.co", LearnerID: "u1", At: at, SourceID: "x"}
	s2 := Activity{Kind: EventSignedUp, Email: "A@b.co", At: at.Add(time.Hour), SourceID: "y"} // no id: same learner
	if s1.OccurrenceID("s") != s2.OccurrenceID("s") || s1.OnceKey() != s2.OnceKey() || s1.OnceKey() == "" {
		t.Error("once-kind ids differ for one learner")
	}
	if base.OnceKey() != "" {
		t.Error("repeatable kind has a once key")
	}
	fp := s1
	fp.Kind = EventFirstPurchase
	if fp.OnceKey() == s1.OnceKey() || fp.OccurrenceID("s") == s1.OccurrenceID("s") {
		t.Error("two once-kinds share a key")
	}
}

func TestActivityValidate(t *testing.T) {
	t.Parallel()
	ok := Activity{Kind: EventTagAdded, Email: "a@b.co", At: time.Unix(1, 0)}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, a := range map[string]Activity{
		"kind":  {Kind: "x", Email: "a@b.co", At: time.Unix(1, 0)},
		"email": {Kind: EventTagAdded, Email: "not-an-email", At: time.Unix(1, 0)},
		"time":  {Kind: EventTagAdded, Email: "a@b.co"},
	} {
		if a.Validate() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
