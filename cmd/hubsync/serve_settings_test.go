package main

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestServeSettingsPage: with --admin-token, serve mounts the settings page on /settings/ for its
// school, behind that token (a Basic challenge without it, so a browser asks).
func TestServeSettingsPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	seedSchool(t, f.lw, 1)
	f.connect(t)
	const token = "serve-settings-admin-token-0123456789"
	s := f.start(t, "serve", "--listen", "127.0.0.1:0", "--admin-token", token)
	line := s.waitLine(t, func(l string) bool { return strings.HasPrefix(l, "Serving school") })
	base := line[strings.LastIndex(line, " ")+1:]
	s.waitLine(t, func(l string) bool { return strings.Contains(l, "settings page:") })

	get := func(auth func(*http.Request)) (int, string, http.Header) {
		t.Helper()
		req, err := http.NewRequest("GET", base+"/settings/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != nil {
			auth(req)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	if code, _, h := get(nil); code != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic ") {
		t.Fatalf("without the token: %d %q", code, h.Get("WWW-Authenticate"))
	}
	if code, _, _ := get(func(r *http.Request) { r.SetBasicAuth("admin", "wrong") }); code != http.StatusUnauthorized {
		t.Fatalf("with a wrong token: %d", code)
	}
	// One school served: /settings/ leads to its page, /settings/default/.
	code, body, _ := get(func(r *http.Request) { r.SetBasicAuth("admin", token) })
	if code != http.StatusOK || !strings.Contains(body, "Connected to HubSpot account") || !strings.Contains(body, `action="/settings/default/settings"`) {
		t.Fatalf("with the token: %d\n%s", code, body)
	}
	if code, _, _ := get(func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }); code != http.StatusOK {
		t.Fatalf("with the token as a bearer: %d", code)
	}
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := s.wait(t); code != 0 {
		t.Fatalf("serve: exit %d", code)
	}
	if strings.Contains(s.all.String()+s.stderr.String(), token) {
		t.Error("serve printed the admin token")
	}
}

func TestSettingsRedirectURL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ public, listen, want string }{
		{"https://sync.school.example/hubspot/webhooks", "127.0.0.1:8080", "https://sync.school.example/settings/oauth/callback"},
		{"", "127.0.0.1:8080", "http://127.0.0.1:8080/settings/oauth/callback"},
		{"", ":8080", "http://127.0.0.1:8080/settings/oauth/callback"},
	} {
		if got := settingsRedirectURL(c.public, c.listen); got != c.want {
			t.Errorf("settingsRedirectURL(%q, %q) = %q, want %q", c.public, c.listen, got, c.want)
		}
	}
}

// TestServeOneSchool: "serve --school" serves that school alone with the URLs of before many
// schools: /status is its document and /settings/ its page.
func TestServeOneSchool(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.connect(t)
	const token = "serve-one-school-admin-token-0123456789"
	s := f.start(t, "serve", "--listen", "127.0.0.1:0", "--admin-token", token, "--school", "default")
	line := s.waitLine(t, func(l string) bool { return strings.HasPrefix(l, "Serving school") })
	base := line[strings.LastIndex(line, " ")+1:]
	if !strings.HasPrefix(line, `Serving school "default" on`) {
		t.Fatalf("serve printed %q", line)
	}
	var st map[string]any
	getJSON(t, base+"/status", token, &st)
	if st["school"] != "default" || st["connected"] != true {
		t.Fatalf("/status: %v", st)
	}
	req, _ := http.NewRequest("GET", base+"/settings/", nil)
	req.SetBasicAuth("admin", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `action="/settings/settings"`) {
		t.Fatalf("/settings/: %d\n%s", resp.StatusCode, body)
	}
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := s.wait(t); code != 0 {
		t.Fatalf("serve: exit %d", code)
	}
}
