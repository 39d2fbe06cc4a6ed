package learnworlds_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// TestChangedSinceSeesRegistrationsOnly: the learners registered since the time come back; an
// older learner does not, whatever changed in its profile (the API cannot tell).
func TestChangedSinceSeesRegistrationsOnly(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	l := newLearners(t, s, false)
	since := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	for i := range 5 {
		created := since.Add(time.Duration(i-2) * time.Hour) // two before, three at or after
		if _, err := s.AddUser(learnworldstest.User{Email: fmt.Sprintf("c%d@school.example", i), Created: float64(created.Unix())}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for ln, err := range l.ChangedSince(context.Background(), "school-1", since) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ln.Email)
	}
	if len(got) != 3 {
		t.Fatalf("ChangedSince = %v, want the 3 learners registered since", got)
	}
}
