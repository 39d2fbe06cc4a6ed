package hubspot_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/hubsync/hubsync/hubspot"
)

func TestListContactsPageResumesFromACursor(t *testing.T) {
	t.Parallel()
	for _, v := range versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, v, nil)
			for i := range 25 {
				if _, err := f.srv.SeedContact(map[string]string{"email": fmt.Sprintf("c%02d@example.com", i)}); err != nil {
					t.Fatal(err)
				}
			}
			seen := map[string]bool{}
			after, pages := "", 0
			for {
				page, next, err := f.client.ListContactsPage(ctxT(t), hubspot.ListOptions{PageSize: 10, Properties: []string{"email"}}, after)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, c := range page {
					if seen[c.ID] {
						t.Fatalf("contact %s twice", c.ID)
					}
					seen[c.ID] = true
				}
				if next == "" {
					break
				}
				after = next
			}
			if len(seen) != 25 || pages != 3 {
				t.Fatalf("%d contacts in %d pages, want 25 in 3", len(seen), pages)
			}
			if _, _, err := f.client.ListContactsPage(ctxT(t), hubspot.ListOptions{PageSize: 101}, ""); !errors.Is(err, hubspot.ErrInvalidInput) {
				t.Fatalf("page size 101: %v", err)
			}
		})
	}
}

func TestListContactsPages(t *testing.T) {
	t.Parallel()
	for _, v := range versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, v, nil)
			for i := range 250 {
				if _, err := f.srv.SeedContact(map[string]string{"email": fmt.Sprintf("p%03d@example.com", i)}); err != nil {
					t.Fatal(err)
				}
			}
			var emails []string
			for ct, err := range f.client.ListContacts(ctxT(t), hubspot.ListOptions{Properties: []string{"email"}}) {
				if err != nil {
					t.Fatal(err)
				}
				emails = append(emails, ct.Email())
			}
			slices.Sort(emails)
			if len(emails) != 250 || len(slices.Compact(emails)) != 250 {
				t.Fatalf("listed %d contacts (%d distinct), want 250", len(emails), len(slices.Compact(emails)))
			}
			if n := f.srv.Stats().ByRoute["GET "+contactsBase(v)]; n != 3 {
				t.Fatalf("%d list requests, want 3 pages of 100", n)
			}
			// Stopping early makes no further request.
			for range f.client.ListContacts(ctxT(t), hubspot.ListOptions{PageSize: 10}) {
				break
			}
			if n := f.srv.Stats().ByRoute["GET "+contactsBase(v)]; n != 4 {
				t.Fatalf("%d list requests after an early break, want 4", n)
			}
			for _, err := range f.client.ListContacts(ctxT(t), hubspot.ListOptions{PageSize: 101}) {
				if !errors.Is(err, hubspot.ErrInvalidInput) {
					t.Fatalf("page size 101: err = %v, want ErrInvalidInput", err)
				}
			}
		})
	}
}
