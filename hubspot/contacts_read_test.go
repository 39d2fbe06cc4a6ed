package hubspot_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/hubsync/hubsync/hubspot"
)

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
