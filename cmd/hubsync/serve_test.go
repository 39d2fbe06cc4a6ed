package main

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// TestServeWebhooks runs "serve" and drives both webhook endpoints end to end: a LearnWorlds
// profile change reaches HubSpot, and a HubSpot admin edit reaches the LearnWorlds learner.
func TestServeWebhooks(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	seedSchool(t, f.lw, 3)
	f.connect(t)
	path := f.writeFile(t, "settings.json", `{
  "mode": "two_way",
  "mappings": [
    {"lms_field": "username", "hubspot_property": "firstname", "direction": "to_hubspot"},
    {"lms_field": "country", "hubspot_property": "country", "direction": "both"}
  ]
}`)
	if r := f.run(t, "settings", "apply", "-f", path); r.code != 0 || strings.Contains(r.stdout, "INVALID") {
		t.Fatalf("settings apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	const secret = "serve-test-webhook-secret"
	const admin = "serve-test-admin-token-0123456789"
	s := f.start(t, "serve", "--listen", "127.0.0.1:0", "--learnworlds-webhook-secret", secret, "--admin-token", admin)
	line := s.waitLine(t, func(l string) bool { return strings.HasPrefix(l, "Serving school") })
	base := line[strings.LastIndex(line, " ")+1:]
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("serve printed %q", line)
	}

	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %s", resp.Status)
	}

	f.lw.SetWebhook(base+"/learnworlds/webhooks", secret, false)
	f.hs.SetWebhookTarget(base + "/hubspot/webhooks")

	// LearnWorlds -> serve -> HubSpot.
	email := learnerEmail(1)
	if _, err := f.lw.Update(t.Context(), email, func(u *learnworldstest.User) { u.Fields["country"] = "CY" }); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the LearnWorlds change in HubSpot", func() bool {
		c, ok := f.hs.Contact(email)
		return ok && c.Properties["country"] == "CY" && c.Properties["firstname"] == "learner00001"
	})

	// HubSpot -> serve -> LearnWorlds.
	if _, err := f.hs.AdminUpsertContact(email, map[string]string{"country": "MT"}, hubspottest.SourceCRMUI); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the HubSpot change in LearnWorlds", func() bool {
		u, ok := f.lw.User(email)
		return ok && u.Fields["country"] == "MT"
	})

	for _, auth := range []string{"", "Bearer wrong-token", "Basic " + admin, "Bearer " + admin + "x"} {
		if code := getStatus(t, base, auth); code != http.StatusUnauthorized {
			t.Fatalf("/status with Authorization %q: %d, want 401", auth, code)
		}
	}
	// /status lists every school (the array of "hubsync status --json"); /status/{school} is one.
	var list []map[string]any
	getJSON(t, base+"/status", admin, &list)
	if len(list) != 1 || list[0]["school"] != "default" {
		t.Fatalf("/status: %v", list)
	}
	var st map[string]any
	getJSON(t, base+"/status/default", admin, &st)
	if st["connected"] != true || st["mode"] != "two_way" {
		t.Fatalf("/status/default: %v", st)
	}
	if _, ok := st["queue"].(map[string]any); !ok {
		t.Fatalf("/status has no queue: %v", st)
	}

	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := s.wait(t); code != 0 {
		t.Fatalf("serve: exit %d after SIGINT\n%s\n%s", code, s.all.String(), s.stderr.String())
	}
	if !strings.Contains(s.all.String(), "Stopped.") {
		t.Errorf("serve did not shut down cleanly:\n%s", s.all.String())
	}
	if !strings.Contains(s.stderr.String(), "/status refused") {
		t.Errorf("the refused /status requests were not logged:\n%s", s.stderr.String())
	}
	if strings.Contains(s.stderr.String(), secret) || strings.Contains(s.stderr.String(), email) || strings.Contains(s.stderr.String(), admin) {
		t.Errorf("serve logged a secret or a full email:\n%s", s.stderr.String())
	}
}

// getJSON GETs url with the admin token and decodes its 200 answer into v.
func getJSON(t *testing.T, url, admin string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// getStatus GETs /status with the Authorization header auth ("" for none) and returns the status.
func getStatus(t *testing.T, base, auth string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/status", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
