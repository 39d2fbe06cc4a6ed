package learnworlds

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzUserJSON checks the two decoding paths of User agree: whatever the one-pass path accepts,
// the key-by-key path decodes to the same user.
func FuzzUserJSON(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "webhooks", "*.json"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"id":"1","email":"a@b.co","fields":{"cf_x":true,"cf_n":2,"bio":null},"utms":{"fc_source":"a","fc_utm_source":"b"},"created":1.5,"last_login":null,"nps_score":3}`))
	f.Add([]byte(`{"email":"a@b.co","utm":{"lc_medium":"x"},"created_at":"2021-12-02T11:24:32+02:00"}`))
	f.Add([]byte(`{"EMAIL":"a@b.co","Created":1}`))                     // keys of another case
	f.Add([]byte("{\"aa\xff\":{},\"utms\":{\"\":\"\"},\"CreAted\":1}")) // the audit's reproducer, shortened
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast User
		if !fast.fast(b) {
			var u User
			_ = u.UnmarshalJSON(b) // must not panic
			return
		}
		var slow User
		if err := slow.slow(b); err != nil {
			t.Fatalf("one-pass decoding accepted what the key-by-key one refuses (%v): %s", err, b)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("decodings differ for %s:\nfast %+v\nslow %+v", b, fast, slow)
		}
	})
}

// FuzzParseError checks any error body yields an *APIError that names the status, never panics,
// and keeps emails masked.
func FuzzParseError(f *testing.F) {
	for _, s := range []string{
		`{"errors":[{"code":"400","context":"access_denied","message":"denied"}],"success":false}`,
		`{"error":"Too many requests"}`,
		`{"statusCode":422,"error":"Validation Failed","errors":{"email":[{"0":"jane@example.com is taken"}]}}`,
		`{"success":false}`, `not json`, ``,
	} {
		f.Add(400, s)
	}
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 100 || status > 599 {
			return
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{}}
		e := parseError(resp, []byte(body), "GET", "/v2/users/jane%40example.com", time.Now())
		if status >= 300 && e == nil {
			t.Fatalf("status %d gave no error", status)
		}
		if e == nil {
			return
		}
		msg := e.Error()
		if !strings.HasPrefix(msg, "learnworlds: GET ") || strings.Contains(msg, "jane@example.com") || strings.Contains(msg, "jane%40") {
			t.Fatalf("message %q: want the prefix and masked emails", msg)
		}
	})
}

// TestUserKeysExact checks both decoding paths read keys exactly as LearnWorlds spells them: a
// key that only folds to one of User's ("EMAIL", "Created", with the Kelvin sign for k) is
// ignored, whichever path the rest of the object sends the body down.
func TestUserKeysExact(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"EMAIL":"a@b.co"}`,
		`{"Created":1}`,
		`{"id":"1","Email":"a@b.co","CreAted":1,"fields":{"x":[1]}}`, // "fields" with a list: the slow path
		`{"is_admin":true,"IS_ADMIN":false,"utm":{"fc_source":"x"},"Is_Suspended":true}`,
		"{\"i\u017f_suspended\":true,\"tags\":[\"a\"]}", // U+017F folds to s
	} {
		var u User
		if err := json.Unmarshal([]byte(body), &u); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if u.Email != "" || u.Created != 0 || u.IsSuspended {
			t.Errorf("%s: a key of another case was read: %+v", body, u)
		}
	}
	var u User
	if err := json.Unmarshal([]byte(`{"email":"a@b.co","EMAIL":"x@y.z","created":2}`), &u); err != nil || u.Email != "a@b.co" || u.Created != 2 {
		t.Errorf("exact keys beside folded ones: %+v, %v", u, err)
	}
}
