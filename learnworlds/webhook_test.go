package learnworlds_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hubsync/hubsync/learnworlds"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// TestWebhookGolden parses every documented payload and compares the normalised event with its
// golden file.
func TestWebhookGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "webhooks", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no payloads in testdata/webhooks (%v)", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := learnworlds.ParseWebhook(body)
			if err != nil {
				t.Fatal(err)
			}
			if string(ev.Type) != name || !ev.Type.Known() {
				t.Fatalf("type = %q, want the documented %q", ev.Type, name)
			}
			got, err := json.MarshalIndent(ev, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(f, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the parse:\n%s", golden, got)
			}
		})
	}
}

// TestWebhookNormalisation pins the facts the sync depends on.
func TestWebhookNormalisation(t *testing.T) {
	t.Parallel()
	read := func(name string) learnworlds.Event {
		t.Helper()
		body, err := os.ReadFile(filepath.Join("testdata", "webhooks", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		ev, err := learnworlds.ParseWebhook(body)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	ev := read("userUpdated")
	if s := ev.User.UTMs["fc_utm_source"]; s == nil || *s != "Facebook" {
		t.Errorf("userUpdated: fc_source not renamed to fc_utm_source: %v", ev.User.UTMs)
	}
	if _, ok := ev.User.UTMs["fc_source"]; ok {
		t.Error("userUpdated: the webhook spelling fc_source survived")
	}
	if ev.User.Email != "john@doe.com" || ev.User.Fields["cf_skill"] != "Excel" || ev.User.LastName != "john" {
		t.Errorf("userUpdated user = %+v", ev.User)
	}
	ev = read("subscriptionPaymentPlanBought")
	if ev.User == nil || ev.User.ID != "618133ab0d754108b05bad07" || ev.User.Fields["cf_checkme"] != true {
		t.Errorf("doubly nested user not unwrapped: %+v", ev.User)
	}
	if ev.Payment == nil || ev.Payment.Price != 222 {
		t.Errorf("payment = %+v", ev.Payment)
	}
	ev = read("userTagAdded")
	if ev.User == nil || strings.Join(ev.User.Tags, ",") != "hi,user,new,learner" || ev.User.ID != "549d7ee2e4b4c8b511000000" {
		t.Errorf("tag event user = %+v", ev.User)
	}
	ev = read("subscriptionUpdated")
	if ev.User == nil || ev.User.Created != 1638437072 || ev.User.LastLogin != 1638439888 {
		t.Errorf("ISO dates of subscriptionUpdated not converted: %+v", ev.User)
	}
	ev = read("leadCreated")
	if ev.User == nil || ev.User.Email != "john@doe.com" || ev.User.ID != "" {
		t.Errorf("lead = %+v", ev.User)
	}
	a, b := read("userUpdated"), read("userUpdated")
	if a.DedupeKey == "" || a.DedupeKey != b.DedupeKey || a.DedupeKey == read("userTagAdded").DedupeKey {
		t.Error("dedupe keys are not a function of the body")
	}
}

func TestParseWebhookRejectsBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
		is               error
	}{
		{"not json", `hello`, "not a JSON object", learnworlds.ErrInvalidWebhook},
		{"array", `[1]`, "not a JSON object", learnworlds.ErrInvalidWebhook},
		{"trailing", `{"version":2,"type":"userUpdated","data":{}} {}`, "after the JSON object", learnworlds.ErrInvalidWebhook},
		{"legacy", `{"type":"userUpdated","data":{}}`, "version", learnworlds.ErrUnsupportedVersion},
		{"version 1", `{"version":1,"type":"userUpdated","data":{}}`, "version is 1", learnworlds.ErrUnsupportedVersion},
		{"no type", `{"version":2,"data":{}}`, "type is missing", learnworlds.ErrInvalidWebhook},
		{"no data", `{"version":2,"type":"userUpdated"}`, "data is missing", learnworlds.ErrInvalidWebhook},
		{"no user", `{"version":2,"type":"userUpdated","data":{"ip_address":""}}`, "data.user is missing", learnworlds.ErrInvalidWebhook},
		{"no email", `{"version":2,"type":"userUpdated","data":{"user":{"id":"x"}}}`, "no email", learnworlds.ErrInvalidWebhook},
		{"bad tags", `{"version":2,"type":"userTagAdded","data":{"email":"a@b.co","tags":"x"}}`, "tags", learnworlds.ErrInvalidWebhook},
		{"bad date", `{"version":2,"type":"enrolledFreeCourse","data":{"date":"soon","user":{"email":"a@b.co"}}}`, "data.date", learnworlds.ErrInvalidWebhook},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := learnworlds.ParseWebhook([]byte(tt.body))
			if !errors.Is(err, tt.is) || !errors.Is(err, learnworlds.ErrInvalidWebhook) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tt.is, tt.want)
			}
		})
	}
	ev, err := learnworlds.ParseWebhook([]byte(`{"version":2,"type":"somethingNew","data":{"user":{"email":"a@b.co"}}}`))
	if err != nil || ev.Type.Known() || ev.User == nil || ev.User.Email != "a@b.co" {
		t.Fatalf("unknown type: %+v, %v; want it parsed leniently", ev, err)
	}
}

func FuzzParseWebhook(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "webhooks", "*.json"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"version":2,"type":"x","data":{"user":{"user":{"email":"a@b.c"}}}}`))
	f.Add([]byte(`{"version":2,"type":"userUpdated","data":{"user":{"email":"a@b.c","utms":{"fc_source":1,"fc_utm_source":"x"},"created":"2021-12-02T11:24:32+02:00"}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := learnworlds.ParseWebhook(body)
		if err != nil {
			if !errors.Is(err, learnworlds.ErrInvalidWebhook) {
				t.Fatalf("error %v does not wrap ErrInvalidWebhook", err)
			}
			return
		}
		if ev.Version != 2 || ev.Type == "" || len(ev.DedupeKey) != 64 {
			t.Fatalf("accepted event breaks invariants: %+v", ev)
		}
		if ev.Type.Known() && ev.Type != learnworlds.EventPaymentCreated && (ev.User == nil || ev.User.Email == "") {
			t.Fatalf("documented event without a user email accepted: %+v", ev)
		}
		if ev.User != nil {
			for k := range ev.User.UTMs {
				if k == "fc_source" || k == "lc_campaign" {
					t.Fatalf("webhook UTM key %q not normalised", k)
				}
			}
		}
		if _, err := json.Marshal(ev); err != nil {
			t.Fatalf("event does not marshal: %v", err)
		}
	})
}

func TestVerifier(t *testing.T) {
	t.Parallel()
	body := []byte(`{"version":2}`)
	hm := learnworlds.Verifier{Secret: "s3cret", Scheme: learnworlds.SignatureHMACSHA256}
	tests := []struct {
		name   string
		v      learnworlds.Verifier
		header string
		is     error
	}{
		{"static ok", learnworlds.Verifier{Secret: "s3cret"}, "v1=s3cret", nil},
		{"static among several", learnworlds.Verifier{Secret: "s3cret"}, "v1=old, v1=s3cret", nil},
		{"static wrong", learnworlds.Verifier{Secret: "s3cret"}, "v1=guess", learnworlds.ErrBadSignature},
		{"static without prefix", learnworlds.Verifier{Secret: "s3cret"}, "s3cret", learnworlds.ErrBadSignature},
		{"missing", learnworlds.Verifier{Secret: "s3cret"}, "", learnworlds.ErrBadSignature},
		{"hmac ok", hm, hm.Sign(body), nil},
		{"hmac upper case", hm, strings.ToUpper(hm.Sign(body)[3:]), learnworlds.ErrBadSignature},
		{"hmac upper hex", hm, "v1=" + strings.ToUpper(hm.Sign(body)[3:]), nil},
		{"hmac of another body", hm, hm.Sign([]byte(`{}`)), learnworlds.ErrBadSignature},
		{"hmac given the static value", hm, "v1=s3cret", learnworlds.ErrBadSignature},
		{"no secret", learnworlds.Verifier{}, "v1=", learnworlds.ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.v.Verify(tt.header, body)
			if (tt.is == nil) != (err == nil) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("Verify(%q) = %v, want %v", tt.header, err, tt.is)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error leaks the secret: %v", err)
			}
		})
	}
	if err := learnworlds.VerifySignature("v1=abc", body, "abc"); err != nil {
		t.Fatal(err)
	}
}
