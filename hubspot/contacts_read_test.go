package hubspot_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/hubsync/hubsync/hubspot"
)

func TestBatchReadByEmail(t *testing.T) {
	t.Parallel()
	for _, v := range versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, v, nil)
			id, err := f.srv.SeedContact(map[string]string{"email": "main@example.com", "hs_additional_emails": "alias@example.com", "firstname": "M"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.client.BatchReadByEmail(ctxT(t), []string{"MAIN@example.com", "alias@example.com", "ghost@example.com"}, []string{"firstname"})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got["main@example.com"].ID != id || got["alias@example.com"].ID != id || got["main@example.com"].Properties["firstname"] != "M" {
				t.Fatalf("got %+v, want main and alias mapped to contact %s", got, id)
			}
			// Nothing left after folding and de-duplication: an empty map and no call.
			before := f.srv.Stats().Requests
			if got, err := f.client.BatchReadByEmail(ctxT(t), []string{"", "  "}, nil); err != nil || len(got) != 0 {
				t.Fatalf("no emails: %v, %v", got, err)
			}
			if n := f.srv.Stats().Requests - before; n != 0 {
				t.Fatalf("no emails made %d requests", n)
			}
		})
	}
}

func TestBatchReadByID(t *testing.T) {
	t.Parallel()
	for _, v := range versions {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, v, nil)
			a, err := f.srv.SeedContact(map[string]string{"email": "a@example.com", "firstname": "A"})
			if err != nil {
				t.Fatal(err)
			}
			b, err := f.srv.SeedContact(map[string]string{"email": "b@example.com", "firstname": "B"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.client.BatchReadByID(ctxT(t), []string{a, b, a, "999999"}, []string{"firstname"})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[a].Properties["firstname"] != "A" || got[b].Email() != "b@example.com" {
				t.Fatalf("got %+v", got)
			}
			var many []string
			for i := range hubspot.BatchLimit + 1 {
				many = append(many, strconv.Itoa(i+1))
			}
			if _, err := f.client.BatchReadByID(ctxT(t), many, nil); !errors.Is(err, hubspot.ErrInvalidInput) {
				t.Fatalf("101 ids: %v", err)
			}
		})
	}
}
