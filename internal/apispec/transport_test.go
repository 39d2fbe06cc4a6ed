package apispec

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that records Errorf, Logf and Fatalf calls instead of failing.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
	logs   []string
	fatals []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

func (r *recorder) Log(args ...any) { r.Logf("%s", fmt.Sprintln(args...)) }

func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
}

func (r *recorder) snapshot() (errs, logs, fatals []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errors...), append([]string(nil), r.logs...), append([]string(nil), r.fatals...)
}

// thingsServer answers GET /things/{id} with the given body and records the upsert bodies it gets.
func thingsServer(t *testing.T, thingBody string) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	var got []string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, thingBody)
	})
	mux.HandleFunc("POST /things/batch/upsert", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"COMPLETE","results":[{"id":"1"}]}`)
	})
	mux.HandleFunc("GET /_fake/state", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &got
}

func TestTransport(t *testing.T) {
	t.Parallel()
	specs := loadInline(t)
	specs.Allow("GET", "/_fake/state", "the fake's admin route")
	tests := []struct {
		name      string
		thingBody string
		method    string
		path      string
		body      string
		wantErrs  []string // substrings, one reported error expected when not empty
	}{
		{name: "good get", thingBody: `{"id":"1"}`, method: "GET", path: "/things/1"},
		{name: "good upsert", method: "POST", path: "/things/batch/upsert", body: `{"inputs":[{"id":"1","properties":{"a":"b"}}]}`},
		{name: "allowed admin route", method: "GET", path: "/_fake/state"},
		{name: "bad response", thingBody: `{"id":1}`, method: "GET", path: "/things/1",
			wantErrs: []string{"GET /things/{thingId}", "a.json", "$.id: got number, want string"}},
		{name: "bad request", method: "POST", path: "/things/batch/upsert", body: `{"inputs":[{"id":true,"properties":{}}]}`,
			wantErrs: []string{"POST /things/batch/upsert", "a.json", "$.inputs[0].id"}},
		{name: "undescribed", method: "GET", path: "/elsewhere", wantErrs: []string{"GET /elsewhere", "no document describes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, upserts := thingsServer(t, tt.thingBody)
			rec := &recorder{TB: t}
			client := &http.Client{Transport: specs.Transport(rec, nil)}
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if tt.thingBody != "" && string(got) != tt.thingBody {
				t.Errorf("client read %q, server sent %q", got, tt.thingBody)
			}
			if tt.body != "" && (len(*upserts) != 1 || (*upserts)[0] != tt.body) {
				t.Errorf("server got bodies %q, client sent %q", *upserts, tt.body)
			}
			errs, _, _ := rec.snapshot()
			if len(tt.wantErrs) == 0 {
				if len(errs) != 0 {
					t.Errorf("unexpected reports: %q", errs)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("got %d reports, want 1: %q", len(errs), errs)
			}
			for _, want := range tt.wantErrs {
				if !strings.Contains(errs[0], want) {
					t.Errorf("report lacks %q:\n%s", want, errs[0])
				}
			}
		})
	}
}

func TestTransportNilBaseUsesDefault(t *testing.T) {
	t.Parallel()
	specs := loadInline(t)
	tr, ok := specs.Transport(t, nil).(*transport)
	if !ok || tr.base != http.DefaultTransport {
		t.Fatalf("Transport(t, nil) = %#v, want a checking transport over http.DefaultTransport", tr)
	}
}

func TestFromEnvUnset(t *testing.T) {
	t.Parallel()
	rec := &recorder{TB: t}
	if s := FromEnv(rec, "HUBSYNC_APISPEC_TEST_NEVER_SET"); s != nil {
		t.Fatalf("FromEnv with unset variable = %v, want nil", s)
	}
	_, logs, fatals := rec.snapshot()
	if len(fatals) != 0 || len(logs) != 1 || !strings.Contains(logs[0], "HUBSYNC_APISPEC_TEST_NEVER_SET is not set") {
		t.Errorf("logs %q, fatals %q; want one log naming the variable", logs, fatals)
	}
}

func TestFromEnvSet(t *testing.T) {
	dir := inlineDir(t)
	t.Setenv("HUBSYNC_APISPEC_TEST_DIR", dir)
	rec := &recorder{TB: t}
	s1 := FromEnv(rec, "HUBSYNC_APISPEC_TEST_DIR")
	s2 := FromEnv(rec, "HUBSYNC_APISPEC_TEST_DIR")
	if s1 == nil || s2 == nil || s1 == s2 {
		t.Fatalf("FromEnv = %p, %p; want two distinct non-nil Specs", s1, s2)
	}
	if s1.docs[0] != s2.docs[0] {
		t.Errorf("FromEnv compiled the documents twice; want them shared through the cache")
	}
	s1.Allow("GET", "/only/in/s1", "test")
	s1.StripPrefix("/only-s1")
	if len(s2.Allowed()) != 0 || len(s2.Prefixes()) != 2 {
		t.Errorf("configuring one FromEnv result changed another: allowed %q, prefixes %q", s2.Allowed(), s2.Prefixes())
	}

	t.Setenv("HUBSYNC_APISPEC_TEST_DIR", t.TempDir()) // empty: no documents
	if s := FromEnv(rec, "HUBSYNC_APISPEC_TEST_DIR"); s != nil {
		t.Errorf("FromEnv on an empty directory = %v, want nil after Fatal", s)
	}
	_, _, fatals := rec.snapshot()
	if len(fatals) != 1 || !strings.Contains(fatals[0], "no OpenAPI document") {
		t.Errorf("fatals = %q, want one naming the missing documents", fatals)
	}
}
