package apispec

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzCheck feeds arbitrary paths, bodies and statuses through Check: it must never panic, must
// return nil or a *MismatchError (bodies are in memory, so no read error), and must never echo a
// full e-mail address.
func FuzzCheck(f *testing.F) {
	f.Add("POST", "/things/batch/upsert", `{"inputs":[{"id":"1","properties":{}}]}`, 200, `{"status":"COMPLETE","results":[]}`)
	f.Add("GET", "/admin/api/v2/users/x@example.com", "", 200, `{"email":"x@example.com","nickname":null}`)
	f.Add("POST", "/token", "grant_type=refresh_token&client_id=c", 503, "<html>")
	f.Add("GET", "/things/%zz?limit=%", "", 0, "")
	specs, err := Load(writeTree(f, map[string]string{"a.json": docA, "b.yaml": docB, "c.yml": docC}))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, path, reqBody string, status int, respBody string) {
		u, err := url.Parse("http://127.0.0.1:1" + path)
		if err != nil || !strings.HasPrefix(u.Path, "/") || method == "" || strings.ContainsAny(method, " \t\r\n") {
			return
		}
		req := &http.Request{Method: method, URL: u, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(reqBody))}
		var resp *http.Response
		if status >= 100 && status <= 599 {
			resp = &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(respBody))}
		}
		err = specs.Check(req, resp)
		if err == nil {
			return
		}
		var mm *MismatchError
		if !errors.As(err, &mm) {
			t.Fatalf("Check returned %T %v, want *MismatchError", err, err)
		}
		if m := emailRE.FindAllStringSubmatch(err.Error(), -1); m != nil {
			for _, sub := range m {
				if !strings.HasPrefix(sub[0][1:], "***") {
					t.Fatalf("message holds an unmasked address %q:\n%s", sub[0], err)
				}
			}
		}
	})
}
