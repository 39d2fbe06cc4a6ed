package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestConnectOAuth runs the browser flow: the command prints the authorize URL and listens for
// the callback; fetching the URL from the fake HubSpot approves the app and redirects to it.
func TestConnectOAuth(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.start(t, "connect", "--listen", "127.0.0.1:0")
	authURL := strings.TrimSpace(s.waitLine(t, func(l string) bool { return strings.HasPrefix(l, "  http") }))
	if !strings.HasPrefix(authURL, f.hs.URL+"/oauth/authorize?") || !strings.Contains(authURL, "state=") {
		t.Fatalf("authorize URL %q", authURL)
	}
	if strings.Contains(authURL, f.hs.ClientSecret()) {
		t.Fatal("the authorize URL holds the client secret")
	}
	// A forged callback is refused and the command keeps waiting.
	cb := s.waitLine(t, func(l string) bool { return strings.HasPrefix(l, "Waiting for HubSpot to call back on ") })
	redirect := strings.Fields(strings.TrimPrefix(cb, "Waiting for HubSpot to call back on "))[0]
	resp, err := http.Get(redirect + "?code=x&state=forged.state")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("forged callback: %s", resp.Status)
	}
	// So is any page's ?error= without this attempt's state: it neither ends the command nor
	// reaches the terminal (escape sequences included).
	for _, q := range []string{"?error=access_denied%1b%5d0%3bpwned%07", "?error=x&state=forged.state"} {
		resp, err := http.Get(redirect + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("callback %s without a valid state: %s", q, resp.Status)
		}
	}

	resp, err = http.Get(authURL) // the fake approves and redirects to the command's callback
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "is connected to HubSpot portal") {
		t.Fatalf("callback answer: %s %s", resp.Status, body)
	}
	if code := s.wait(t); code != 0 {
		t.Fatalf("connect: exit %d\n%s\n%s", code, s.all.String(), s.stderr.String())
	}
	if !strings.Contains(s.all.String(), "Connected school \"default\" to HubSpot portal") {
		t.Fatalf("connect output:\n%s", s.all.String())
	}
	if strings.Contains(s.all.String(), "pwned") || strings.Contains(s.stderr.String(), "pwned") {
		t.Fatalf("a callback without a valid state reached the terminal:\n%s\n%s", s.all.String(), s.stderr.String())
	}
	if st := f.statusJSON(t); st["connected"] != true {
		t.Fatalf("status after connect: %v", st)
	}
}
