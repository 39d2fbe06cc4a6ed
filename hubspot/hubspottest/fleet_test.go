package hubspottest_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

// TestTokenPrefixRoutesPortals: two portals made WithTokenPrefix behind one front that dispatches
// by the token's prefix to each one's Handler: tokens, refreshes and codes carry the prefix, each
// portal's writes land in it alone, and the write hook sees every write, with what it changed
// (nothing, for the same value sent again).
func TestTokenPrefixRoutesPortals(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var writes []hubspottest.ContactWrite
	hook := hubspottest.WithContactWriteHook(func(w hubspottest.ContactWrite) {
		mu.Lock()
		defer mu.Unlock()
		writes = append(writes, w)
	})
	portals := map[string]*hubspottest.Server{}
	for _, p := range []string{"p0", "p1"} {
		s := hubspottest.NewServer(hubspottest.WithTokenPrefix(p), hubspottest.WithPortal(int64(len(portals)+1), p+".example"), hook)
		t.Cleanup(s.Close)
		portals[p] = s
	}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if tok == "" {
			_ = r.ParseForm()
			tok = r.PostForm.Get("refresh_token")
		}
		p, _ := hubspottest.TokenPrefix(tok)
		s := portals[p]
		if s == nil {
			http.NotFound(w, r)
			return
		}
		s.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)

	access0, refresh0 := portals["p0"].MintToken()
	access1, _ := portals["p1"].MintToken()
	for _, tok := range []string{access0, refresh0, portals["p1"].AuthorizeCode("http://localhost/cb")} {
		if p, ok := hubspottest.TokenPrefix(tok); !ok || (p != "p0" && p != "p1") {
			t.Fatalf("token %q does not carry its portal's prefix", tok[:8])
		}
	}
	if p, ok := hubspottest.TokenPrefix("access"); ok {
		t.Fatalf("TokenPrefix of a token without a dash = %q, true", p)
	}
	// A refresh through the front reaches p0 and issues a p0 token.
	resp, err := http.PostForm(front.URL+"/oauth/v3/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh0},
		"client_id": {hubspottest.DefaultClientID}, "client_secret": {hubspottest.DefaultClientSecret}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh through the front: %s", resp.Status)
	}

	upsert := func(tok, email, country string) {
		t.Helper()
		srv := &hubspottest.Server{URL: front.URL}
		if status, _, body := call(t, srv, tok, "POST", "/crm/v3/objects/contacts/batch/upsert",
			upsertBody(in(email, map[string]string{"country": country}))); status != http.StatusOK {
			t.Fatalf("upsert of %s: %d %v", email, status, body)
		}
	}
	upsert(access0, "a@x.com", "GR")
	upsert(access1, "b@x.com", "FR")
	upsert(access1, "b@x.com", "FR") // the same value again: a write that changes nothing
	if _, ok := portals["p0"].Contact("a@x.com"); !ok {
		t.Fatal("p0's contact did not land in p0")
	}
	if _, ok := portals["p0"].Contact("b@x.com"); ok {
		t.Fatal("p1's contact landed in p0")
	}
	if c, ok := portals["p1"].Contact("b@x.com"); !ok || c.Properties["country"] != "FR" {
		t.Fatalf("p1's contact: %v, %v", c.Properties, ok)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(writes) != 3 {
		t.Fatalf("the hook saw %d writes, want 3: %+v", len(writes), writes)
	}
	if w := writes[0]; w.Email != "a@x.com" || w.Props["country"] != "GR" || !slices.Contains(w.Changed, "country") || w.At.IsZero() {
		t.Fatalf("first write: %+v", w)
	}
	if w := writes[2]; w.Email != "b@x.com" || w.Props["country"] != "FR" || len(w.Changed) != 0 {
		t.Fatalf("the same value sent again: %+v, want no property changed", w)
	}
}
