package learnworlds_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// TestSetSchoolAtRunTime: an adapter built with no school gains schools, each talking to its own
// API; a bad configuration is refused and changes nothing; a removed school is unknown again
// while the others keep working.
func TestSetSchoolAtRunTime(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fa, fb := newFake(t), newFake(t)
	if _, err := fa.AddUser(learnworldstest.User{Email: "ann@example.com", Username: "ann"}); err != nil {
		t.Fatal(err)
	}
	if _, err := fb.AddUser(learnworldstest.User{Email: "bob@example.com", Username: "bob"}); err != nil {
		t.Fatal(err)
	}
	l, err := learnworlds.NewLearners(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.GetByEmail(ctx, "a", "ann@example.com"); !errors.Is(err, learnworlds.ErrUnknownSchool) {
		t.Fatalf("before SetSchool: %v, want ErrUnknownSchool", err)
	}
	if err := l.SetSchool("a", learnworlds.School{Client: newClient(t, fa, nil), Catalog: testCatalog}); err != nil {
		t.Fatal(err)
	}
	if err := l.SetSchool("b", learnworlds.School{Client: newClient(t, fb, nil)}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]hubsync.SchoolID{"a", "b"}, l.Schools()); d != "" {
		t.Fatalf("Schools (-want +got):\n%s", d)
	}
	mustFind := func(id hubsync.SchoolID, email string) {
		t.Helper()
		if ln, err := l.GetByEmail(ctx, id, email); err != nil || ln.Email != email {
			t.Fatalf("GetByEmail(%s, %s) = %v, %v", id, email, ln.Email, err)
		}
	}
	mustFind("a", "ann@example.com")
	mustFind("b", "bob@example.com")
	if _, err := l.GetByEmail(ctx, "b", "ann@example.com"); !errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("ann in school b: %v, want ErrNotFound (each school its own API)", err)
	}

	bad := hubsync.CatalogOptions{Custom: []hubsync.CustomField{{Name: "cf_", Type: hubsync.TypeString}}}
	for _, s := range []learnworlds.School{{}, {Client: newClient(t, fb, nil), Catalog: bad}} {
		if err := l.SetSchool("a", s); !errors.Is(err, learnworlds.ErrConfig) {
			t.Fatalf("SetSchool with a bad school: %v, want ErrConfig", err)
		}
	}
	if err := l.SetSchool("", learnworlds.School{Client: newClient(t, fb, nil)}); !errors.Is(err, learnworlds.ErrConfig) {
		t.Fatalf("SetSchool with an empty id: %v, want ErrConfig", err)
	}
	mustFind("a", "ann@example.com") // unchanged by the refused calls
	fields, err := l.Catalog(ctx, "a")
	if err != nil || len(fields) == 0 {
		t.Fatalf("Catalog of a: %d fields, %v", len(fields), err)
	}

	l.RemoveSchool("a")
	l.RemoveSchool("never-there")
	if _, err := l.GetByEmail(ctx, "a", "ann@example.com"); !errors.Is(err, learnworlds.ErrUnknownSchool) {
		t.Fatalf("after RemoveSchool: %v, want ErrUnknownSchool", err)
	}
	mustFind("b", "bob@example.com")
}

// TestSetSchoolKeepsPutSemantics: what the first writes found out about PUT (here: it merges,
// so a write is one call) survives a SetSchool with a new client for the same address, and is
// found out again for a client of another address.
func TestSetSchoolKeepsPutSemantics(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fa, fb := newFake(t), newFake(t)
	users := map[*learnworldstest.Server]string{}
	for _, f := range []*learnworldstest.Server{fa, fb} {
		u, err := f.AddUser(learnworldstest.User{Email: "ann@example.com", Username: "ann", Fields: map[string]any{"bio": "hi", "phone": "1"}})
		if err != nil {
			t.Fatal(err)
		}
		users[f] = u.ID
	}
	l, err := learnworlds.NewLearners(map[hubsync.SchoolID]learnworlds.School{school: {Client: newClient(t, fa, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	write := func(what string, f *learnworldstest.Server, phone string, calls int) {
		t.Helper()
		if _, err := l.GetByEmail(ctx, school, "ann@example.com"); err != nil { // mints the token
			t.Fatal(err)
		}
		before := f.Stats().Requests
		if _, err := l.Update(ctx, school, users[f], map[string]any{"phone": phone}); err != nil {
			t.Fatal(err)
		}
		if got := f.Stats().Requests - before; got != calls {
			t.Fatalf("%s: %d calls, want %d", what, got, calls)
		}
	}
	write("the first write", fa, "2", 2)
	write("the second write", fa, "3", 1)
	if err := l.SetSchool(school, learnworlds.School{Client: newClient(t, fa, nil)}); err != nil {
		t.Fatal(err)
	}
	write("a write after SetSchool to the same address", fa, "4", 1)
	if err := l.SetSchool(school, learnworlds.School{Client: newClient(t, fb, nil)}); err != nil {
		t.Fatal(err)
	}
	write("the first write after SetSchool to another address", fb, "5", 2)
}

// TestSetSchoolConcurrent: SetSchool and RemoveSchool race with calls of every kind (run with
// -race); each call either works or fails with ErrUnknownSchool.
func TestSetSchoolConcurrent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFake(t)
	if _, err := f.AddUser(learnworldstest.User{Email: "ann@example.com", Username: "ann"}); err != nil {
		t.Fatal(err)
	}
	l, err := learnworlds.NewLearners(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := newClient(t, f, nil)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 200 {
			if i%3 == 2 {
				l.RemoveSchool(school)
				continue
			}
			if err := l.SetSchool(school, learnworlds.School{Client: client, Catalog: testCatalog}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if _, err := l.GetByEmail(ctx, school, "ann@example.com"); err != nil && !errors.Is(err, learnworlds.ErrUnknownSchool) {
					t.Error(err)
					return
				}
				if _, err := l.Catalog(ctx, school); err != nil && !errors.Is(err, learnworlds.ErrUnknownSchool) {
					t.Error(err)
					return
				}
				_ = l.Schools()
			}
		}()
	}
	wg.Wait()
}
