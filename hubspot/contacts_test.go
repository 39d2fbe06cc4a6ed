package hubspot_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/hubspot"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

func TestBatchUpsertByEmail(t *testing.T) {
	t.Parallel()
	for _, v := range versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, v, nil)
			if _, err := f.srv.SeedContact(map[string]string{"email": "old@example.com", "firstname": "Old"}); err != nil {
				t.Fatal(err)
			}
			nina := map[string]string{"firstname": "Nina", "lastname": "N"}
			res, err := f.client.BatchUpsertByEmail(ctxT(t), []hubspot.UpsertInput{
				{Email: "Old@Example.com", Properties: map[string]string{"firstname": "Olga"}},
				{Email: "new@example.com", Properties: nina},
				{Email: " NEW@example.com ", Properties: map[string]string{"lastname": "Newer"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if nina["lastname"] != "N" || len(nina) != 2 {
				t.Fatalf("the merge of two inputs of one email changed the caller's map: %v", nina)
			}
			if len(res) != 3 {
				t.Fatalf("got %d results, want 3", len(res))
			}
			if res[0].Err != nil || res[0].Created || res[0].Email != "old@example.com" || res[0].ID == "" {
				t.Fatalf("result 0 = %+v, want an update of old@example.com", res[0])
			}
			if res[1].Err != nil || !res[1].Created || res[1].ID == "" || res[1].ID != res[2].ID {
				t.Fatalf("results 1, 2 = %+v, %+v, want one created contact", res[1], res[2])
			}
			got, ok := f.srv.Contact("new@example.com")
			if !ok || got.Properties["firstname"] != "Nina" || got.Properties["lastname"] != "Newer" {
				t.Fatalf("stored %+v, want merged properties with the later input winning", got.Properties)
			}
			if old, _ := f.srv.Contact("old@example.com"); old.Properties["firstname"] != "Olga" {
				t.Fatalf("old contact firstname = %q", old.Properties["firstname"])
			}
			if n := f.srv.Stats().ByRoute["POST "+contactsBase(v)+"/batch/upsert"]; n != 1 {
				t.Fatalf("%d upsert requests, want 1 (duplicates folded before sending)", n)
			}
		})
	}
}

func contactsBase(v hubspot.Version) string {
	if v == hubspot.VersionV3 {
		return "/crm/v3/objects/contacts"
	}
	return "/crm/objects/2026-03/contacts"
}

func TestBatchUpsertIsolatesBadRecords(t *testing.T) {
	t.Parallel()
	for _, partial := range []bool{false, true} {
		t.Run(fmt.Sprintf("partial=%v", partial), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, hubspot.DefaultVersion, []hubspottest.Option{hubspottest.WithPartialUpserts(partial)})
			var in []hubspot.UpsertInput
			for i := range 20 {
				in = append(in, hubspot.UpsertInput{Email: fmt.Sprintf("l%02d@example.com", i), Properties: map[string]string{"firstname": fmt.Sprint("L", i)}})
			}
			in[3].Properties["no_such_property"] = "x"
			in[11].Properties["annualrevenue"] = "12,5k"
			in[17].Properties["date_of_birth"] = "1430438400001" // not midnight
			in = append(in, hubspot.UpsertInput{Email: "not-an-email"})
			res, err := f.client.BatchUpsertByEmail(ctxT(t), in)
			if err != nil {
				t.Fatal(err)
			}
			wantCode := map[int]string{3: "PROPERTY_DOESNT_EXIST", 11: "INVALID_INTEGER", 17: "INVALID_DATE"}
			for i, r := range res {
				code, bad := wantCode[i]
				switch {
				case i == 20:
					if !errors.Is(r.Err, hubspot.ErrInvalidInput) {
						t.Errorf("input 20: err = %v, want ErrInvalidInput", r.Err)
					}
				case bad:
					var ae *hubspot.APIError
					if !errors.As(r.Err, &ae) || !hasCode(ae, code) {
						t.Errorf("input %d: err = %v, want an APIError with %s", i, r.Err, code)
					}
					if _, ok := f.srv.Contact(r.Email); ok {
						t.Errorf("input %d was written despite its error", i)
					}
				default:
					if r.Err != nil || r.ID == "" || !r.Created {
						t.Errorf("input %d: %+v, want created", i, r)
					}
				}
			}
			if n := len(f.srv.Contacts()); n != 17 {
				t.Fatalf("fake holds %d contacts, want 17", n)
			}
		})
	}
}

func hasCode(ae *hubspot.APIError, code string) bool {
	for _, d := range ae.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}

func TestBatchUpsertRejectsTooMany(t *testing.T) {
	t.Parallel()
	f := newFixture(t, hubspot.DefaultVersion, nil)
	in := make([]hubspot.UpsertInput, 101)
	for i := range in {
		in[i].Email = fmt.Sprintf("u%d@example.com", i)
	}
	if _, err := f.client.BatchUpsertByEmail(ctxT(t), in); !errors.Is(err, hubspot.ErrInvalidInput) {
		t.Fatalf("err = %v, want ErrInvalidInput", err)
	}
	if n := f.srv.Stats().Requests; n != 0 {
		t.Fatalf("%d requests sent for a refused batch", n)
	}
}

func TestLifecycleStageOnlyMovesForward(t *testing.T) {
	t.Parallel()
	f := newFixture(t, hubspot.DefaultVersion, nil)
	if _, err := f.srv.SeedContact(map[string]string{"email": "c@example.com", "lifecyclestage": "customer"}); err != nil {
		t.Fatal(err)
	}
	res, err := f.client.BatchUpsertByEmail(ctxT(t), []hubspot.UpsertInput{
		{Email: "c@example.com", Properties: map[string]string{"lifecyclestage": "lead"}},
		{Email: "d@example.com", Properties: map[string]string{"lifecyclestage": "lead"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := res[0].Properties["lifecyclestage"]; got != "customer" {
		t.Fatalf("backward write answered lifecyclestage %q, want customer kept", got)
	}
	if got := res[1].Properties["lifecyclestage"]; got != "lead" {
		t.Fatalf("new contact lifecyclestage %q, want lead", got)
	}
}

func TestSearchModifiedSinceWalksPastCap(t *testing.T) {
	t.Parallel()
	// The cap is lowered from 10,000 to 1,000 on both sides to keep the test fast; the walk is
	// the same.
	const searchCap = 1000
	f := newFixture(t, hubspot.DefaultVersion, []hubspottest.Option{hubspottest.WithSearchRateLimit(0, 0), hubspottest.WithSearchCap(searchCap)},
		hubspot.WithSearchRateLimit(1000, time.Second), hubspot.WithSearchCap(searchCap))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 2*searchCap + 450
	for i := range n {
		// Pairs of contacts share a modification time, so restarts must skip what they saw.
		ts := base.Add(time.Duration(i/2) * time.Second).Format(time.RFC3339Nano)
		if _, err := f.srv.SeedContact(map[string]string{"email": fmt.Sprintf("s%05d@example.com", i), "lastmodifieddate": ts}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	var last time.Time
	for ct, err := range f.client.SearchModifiedSince(ctxT(t), base.Add(10*time.Second), nil) {
		if err != nil {
			t.Fatal(err)
		}
		seen[ct.ID]++
		ts, _ := time.Parse(time.RFC3339Nano, ct.Properties["lastmodifieddate"])
		if ts.Before(last) {
			t.Fatalf("results out of order: %v after %v", ts, last)
		}
		last = ts
	}
	if want := n - 20; len(seen) != want {
		t.Fatalf("search returned %d distinct contacts, want %d", len(seen), want)
	}
	// Two restarts are needed for 2,430 results under a cap of 1,000.
	if pages := f.srv.Stats().ByRoute["POST /crm/objects/2026-03/contacts/search"]; pages < 13 {
		t.Fatalf("%d search requests, want at least 13 pages of 200", pages)
	}
	for id, k := range seen {
		if k != 1 {
			t.Fatalf("contact %s returned %d times", id, k)
		}
	}
}

func TestGetContact(t *testing.T) {
	t.Parallel()
	for _, v := range versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, v, nil)
			id, _ := f.srv.SeedContact(map[string]string{"email": "g@example.com", "firstname": "G"})
			ct, err := f.client.GetContact(ctxT(t), id, []string{"firstname"})
			if err != nil || ct.Properties["firstname"] != "G" {
				t.Fatalf("GetContact = %+v, %v", ct, err)
			}
			ct, err = f.client.GetContactByEmail(ctxT(t), "G@example.com", []string{"email"})
			if err != nil || ct.ID != id {
				t.Fatalf("GetContactByEmail = %+v, %v", ct, err)
			}
			_, err = f.client.GetContact(ctxT(t), "999999", nil)
			var ae *hubspot.APIError
			if !errors.Is(err, hubspot.ErrNotFound) || !errors.As(err, &ae) || ae.Category != "OBJECT_NOT_FOUND" {
				t.Fatalf("missing contact: err = %v, want ErrNotFound", err)
			}
			if _, err := f.client.GetContactByEmail(ctxT(t), "nope", nil); !errors.Is(err, hubspot.ErrInvalidInput) {
				t.Fatalf("bad email: err = %v, want ErrInvalidInput", err)
			}
		})
	}
}

func TestListProperties(t *testing.T) {
	t.Parallel()
	for _, v := range versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, v, nil)
			if err := f.srv.AddProperty(hubspottest.Property{Name: "lw_courses", Type: "number"}); err != nil {
				t.Fatal(err)
			}
			if err := f.srv.ArchiveProperty("jobtitle"); err != nil {
				t.Fatal(err)
			}
			if err := f.srv.DeleteProperty("city"); err != nil {
				t.Fatal(err)
			}
			props, err := f.client.ListProperties(ctxT(t), false)
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]hubspot.Property{}
			for _, p := range props {
				byName[p.Name] = p
			}
			lc := byName["lifecyclestage"]
			if lc.Type != "enumeration" || len(lc.Options) < 7 || lc.Options[1].Value != "lead" || !lc.Writable() {
				t.Fatalf("lifecyclestage = %+v", lc)
			}
			if p := byName["createdate"]; !p.ReadOnlyValue || p.Writable() || p.Type != "datetime" {
				t.Fatalf("createdate = %+v, want read-only datetime", p)
			}
			if p := byName["num_associated_deals"]; !p.Calculated || p.FieldType != "calculation_equation" {
				t.Fatalf("num_associated_deals = %+v, want calculated", p)
			}
			if p, ok := byName["lw_courses"]; !ok || p.Type != "number" || p.FieldType != "number" {
				t.Fatalf("added property = %+v", p)
			}
			if _, ok := byName["jobtitle"]; ok {
				t.Fatal("archived property listed as live")
			}
			if _, ok := byName["city"]; ok {
				t.Fatal("deleted property listed")
			}
			arch, err := f.client.ListProperties(ctxT(t), true)
			if err != nil || len(arch) != 1 || arch[0].Name != "jobtitle" || !arch[0].Archived || arch[0].Writable() {
				t.Fatalf("archived list = %+v, %v", arch, err)
			}
		})
	}
}

func TestUpsertToArchivedPropertyFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t, hubspot.DefaultVersion, nil)
	if err := f.srv.ArchiveProperty("jobtitle"); err != nil {
		t.Fatal(err)
	}
	res, err := f.client.BatchUpsertByEmail(ctxT(t), []hubspot.UpsertInput{{Email: "a@example.com", Properties: map[string]string{"jobtitle": "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	var ae *hubspot.APIError
	if !errors.As(res[0].Err, &ae) || !hasCode(ae, "PROPERTY_DOESNT_EXIST") {
		t.Fatalf("err = %v, want PROPERTY_DOESNT_EXIST", res[0].Err)
	}
	if strings.Contains(res[0].Err.Error(), "a@example.com") {
		t.Fatalf("error text leaks a full email: %v", res[0].Err)
	}
}

// TestConcurrentUpserts shares one client between goroutines (run it with -race).
func TestConcurrentUpserts(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	f := newFixture(t, hubspot.DefaultVersion, []hubspottest.Option{hubspottest.WithClock(clk)})
	autoAdvance(t, clk)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range 3 {
				var in []hubspot.UpsertInput
				for k := range 20 {
					in = append(in, hubspot.UpsertInput{Email: fmt.Sprintf("w%d-%d-%d@example.com", w, b, k)})
				}
				if _, err := f.client.BatchUpsertByEmail(ctxT(t), in); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if n := len(f.srv.Contacts()); n != 240 {
		t.Fatalf("%d contacts, want 240", n)
	}
	if st := f.srv.Stats(); st.RateLimited != 0 {
		t.Fatalf("stats %+v", st)
	}
}
