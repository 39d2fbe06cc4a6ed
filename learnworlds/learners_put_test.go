package learnworlds_test

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// TestUpdateLearnsWhatPutDoes: the API does not say whether PUT /v2/users/{id} merges "fields" or
// replaces it. Under both (the fake either way) every field a write does not own is kept; the
// first write finds out which it is; then a write costs one call when PUT merges (the changed
// fields only, no read) and two when it replaces (a read and the whole object).
func TestUpdateLearnsWhatPutDoes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		opts        []learnworldstest.Option
		first, next int // calls of the first write and of each later one
		nextSends   []string
	}{
		{"merged", nil, 2, 1, []string{"phone"}},
		{"replaced", []learnworldstest.Option{learnworldstest.WithFieldsReplaced()}, 3, 2, []string{"bio", "cf_skill", "phone"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newFake(t, tc.opts...)
			if err := s.DefineField("skill", learnworldstest.FieldRule{Type: "string"}); err != nil {
				t.Fatal(err)
			}
			ann, _ := s.AddUser(learnworldstest.User{Email: "ann@example.com", Username: "ann", Fields: map[string]any{"bio": "hi", "cf_skill": "Go", "phone": "1"}})
			l := newLearners(t, s, false)
			ctx := t.Context()
			if _, err := l.GetByEmail(ctx, school, "ann@example.com"); err != nil { // mints the token
				t.Fatal(err)
			}
			write := func(what string, calls int, values map[string]any, want map[string]any) {
				t.Helper()
				before := s.Stats().Requests
				if _, err := l.Update(ctx, school, ann.ID, values); err != nil {
					t.Fatal(err)
				}
				if got := s.Stats().Requests - before; got != calls {
					t.Errorf("%s: %d calls, want %d", what, got, calls)
				}
				u, _ := s.User(ann.ID)
				if d := cmp.Diff(want, u.Fields); d != "" {
					t.Fatalf("%s: the learner's fields (-want +got):\n%s", what, d)
				}
			}
			write("the first write", tc.first, map[string]any{"phone": "2"}, map[string]any{"bio": "hi", "cf_skill": "Go", "phone": "2"})
			write("the second write", tc.next, map[string]any{"cf_skill": "Rust"}, map[string]any{"bio": "hi", "cf_skill": "Rust", "phone": "2"})

			// A field changed in the school since any read the adapter made is kept either way.
			if _, err := s.Update(ctx, ann.ID, func(u *learnworldstest.User) { u.Fields["bio"] = "edited in the school" }); err != nil {
				t.Fatal(err)
			}
			write("a write after a change in the school", tc.next, map[string]any{"phone": "3"},
				map[string]any{"bio": "edited in the school", "cf_skill": "Rust", "phone": "3"})
			var sent struct {
				Fields map[string]any `json:"fields"`
			}
			if err := json.Unmarshal(s.LastRequestBody("PUT /v2/users/{id}"), &sent); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.nextSends, slices.Sorted(maps.Keys(sent.Fields))); d != "" {
				t.Errorf("fields a later write sends (-want +got):\n%s", d)
			}
		})
	}
}

// TestUpdateWithoutOtherFieldsDecidesNothing: a learner with no field but the one written tells
// nothing about PUT, so the next write still reads first.
func TestUpdateWithoutOtherFieldsDecidesNothing(t *testing.T) {
	t.Parallel()
	s := newFake(t, learnworldstest.WithFieldsReplaced())
	bo, _ := s.AddUser(learnworldstest.User{Email: "bo@example.com", Username: "bo"})
	ann, _ := s.AddUser(learnworldstest.User{Email: "ann@example.com", Username: "ann", Fields: map[string]any{"bio": "hi"}})
	l := newLearners(t, s, false)
	ctx := t.Context()
	if _, err := l.Update(ctx, school, bo.ID, map[string]any{"phone": "1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Update(ctx, school, ann.ID, map[string]any{"phone": "2"}); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.User(ann.ID); u.Fields["bio"] != "hi" || u.Fields["phone"] != "2" {
		t.Fatalf("fields after the write: %v, want bio kept", u.Fields)
	}
}
