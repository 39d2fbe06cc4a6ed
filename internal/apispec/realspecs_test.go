package apispec

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// Environment variables naming the vendor document directories (see the package doc).
const (
	hubspotSpecsEnv     = "HUBSYNC_HUBSPOT_SPECS"
	learnworldsSpecsEnv = "HUBSYNC_LEARNWORLDS_SPECS"
)

// realSpecs loads the directory named by envVar once per process and logs how long the first load
// took; it skips the test, saying why, when the variable is unset.
func realSpecs(t *testing.T, envVar string) *Specs {
	t.Helper()
	if os.Getenv(envVar) == "" {
		t.Skipf("%s is not set: set it to the directory of the vendor OpenAPI documents to check them", envVar)
	}
	start := time.Now()
	s := FromEnv(t, envVar)
	t.Logf("%s: %d documents ready in %v (first call in this process loads, later calls hit the cache)", envVar, len(s.Documents()), time.Since(start))
	return s
}

// realCase is one hand-built exchange against a vendor document directory.
type realCase struct {
	name, method, target, ctype, reqBody string
	header                               map[string]string
	status                               int
	respBody                             string
	wantErr                              bool
	undescribed                          bool
	contains                             []string
}

func runRealCases(t *testing.T, s *Specs, cases []realCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, resp := exchange(tt.method, tt.target, tt.ctype, tt.reqBody, tt.status, tt.respBody)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			err := s.Check(req, resp)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Check() = %v, want error: %v", err, tt.wantErr)
			}
			if err == nil {
				return
			}
			t.Logf("message:\n%v", err)
			if got := errors.Is(err, ErrUndescribed); got != tt.undescribed {
				t.Errorf("errors.Is(err, ErrUndescribed) = %v, want %v", got, tt.undescribed)
			}
			for _, want := range tt.contains {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message lacks %q", want)
				}
			}
		})
	}
}

func TestRealHubSpotDocuments(t *testing.T) {
	t.Parallel()
	s := realSpecs(t, hubspotSpecsEnv)
	if got := s.Prefixes(); len(got) != 0 {
		t.Errorf("HubSpot documents declare server base paths %q; the matching rules assume none", got)
	}
	const json = "application/json"
	upsert := `{"inputs":[{"idProperty":"email","id":"ada@example.com","properties":{"firstname":"Ada","lifecyclestage":"lead"}}]}`
	upserted := `{"status":"COMPLETE","startedAt":"2026-11-28T04:00:00Z","completedAt":"2026-11-28T04:00:01Z",
	  "results":[{"id":"101","new":true,"archived":false,"createdAt":"2026-11-28T04:00:01Z","updatedAt":"2026-11-28T04:00:01Z",
	  "properties":{"email":"ada@example.com","firstname":"Ada"}}]}`
	runRealCases(t, s, []realCase{
		{name: "v3 batch upsert", method: "POST", target: "/crm/v3/objects/contacts/batch/upsert", ctype: json, reqBody: upsert, status: 200, respBody: upserted},
		{name: "2026-03 batch upsert", method: "POST", target: "/crm/objects/2026-03/contacts/batch/upsert", ctype: json, reqBody: upsert, status: 200, respBody: upserted},
		{name: "v3 batch upsert, property value of wrong type", method: "POST", target: "/crm/v3/objects/contacts/batch/upsert", ctype: json,
			reqBody: `{"inputs":[{"idProperty":"email","id":"ada@example.com","properties":{"age":42}}]}`, wantErr: true,
			contains: []string{"crm-contacts-v3.json", "properties.age", "got number, want string"}},
		{name: "v3 batch upsert, id of wrong type", method: "POST", target: "/crm/v3/objects/contacts/batch/upsert", ctype: json,
			reqBody: `{"inputs":[{"id":101,"properties":{}}]}`, wantErr: true, contains: []string{"$.inputs[0].id"}},
		{name: "v3 batch upsert, response missing required fields", method: "POST", target: "/crm/v3/objects/contacts/batch/upsert", ctype: json,
			reqBody: upsert, status: 200, respBody: `{"status":"COMPLETE","results":[]}`, wantErr: true, contains: []string{"response", "startedAt"}},
		{name: "error response in HubSpot's shape", method: "POST", target: "/crm/v3/objects/contacts/batch/upsert", ctype: json, reqBody: upsert,
			status: 429, respBody: `{"status":"error","message":"You have reached your ten_secondly_rolling limit.","correlationId":"c0ffee00-0000-4000-8000-000000000000","category":"RATE_LIMITS"}`},
		{name: "OAuth v1 token refresh (form body)", method: "POST", target: "/oauth/v1/token", ctype: "application/x-www-form-urlencoded",
			reqBody: "grant_type=refresh_token&client_id=id&client_secret=secret&refresh_token=r"},
		{name: "OAuth v1 token, unknown grant type", method: "POST", target: "/oauth/v1/token", ctype: "application/x-www-form-urlencoded",
			reqBody: "grant_type=password&client_id=id", wantErr: true, contains: []string{"oauth-v1.json", "grant_type"}},
		{name: "v3 path that does not exist", method: "POST", target: "/crm/v3/objects/contacts/batch/upsert-all", ctype: json, reqBody: upsert,
			wantErr: true, undescribed: true},
	})
}

func TestRealLearnWorldsDocuments(t *testing.T) {
	t.Parallel()
	s := realSpecs(t, learnworldsSpecsEnv)
	auth := map[string]string{"Authorization": "Bearer x", "Lw-Client": "client", "Content-Type": "application/json"}
	user := `{"id":"5ea173beca205e67b47f4552","email":"ada@example.com","username":"ada","subscribed_for_marketing_emails":true,
	  "eu_customer":false,"is_admin":false,"is_instructor":false,"is_suspended":false,"is_affiliate":false,
	  "created":1587639230.08,"last_login":1587645977.96,"tags":["vip"],"fields":{"bio":null}}`
	runRealCases(t, s, []realCase{
		{name: "get user under /admin/api", method: "GET", target: "/admin/api/v2/users/5ea173beca205e67b47f4552", header: auth, status: 200, respBody: user},
		{name: "get user by e-mail", method: "GET", target: "/admin/api/v2/users/ada@example.com", header: auth, status: 200, respBody: user},
		{name: "attach tags", method: "PUT", target: "/admin/api/v2/users/5ea173beca205e67b47f4552/tags", header: auth, ctype: "application/json",
			reqBody: `{"tags":["vip"],"action":"attach"}`},
		{name: "tags with an unknown action", method: "PUT", target: "/admin/api/v2/users/5ea173beca205e67b47f4552/tags", header: auth, ctype: "application/json",
			reqBody: `{"tags":["vip"],"action":"add"}`, wantErr: true,
			contains: []string{"learnworlds-2.stoplight-openapi.yaml", "wapplersystems-openapi-v2.yaml", "action"}},
		{name: "user with tags of wrong type", method: "GET", target: "/admin/api/v2/users/5ea173beca205e67b47f4552", header: auth, status: 200,
			respBody: strings.Replace(user, `"tags":["vip"]`, `"tags":"vip"`, 1), wantErr: true, contains: []string{"tags"}},
		{name: "token endpoint is in neither document", method: "POST", target: "/admin/api/oauth2/access_token", ctype: "application/x-www-form-urlencoded",
			reqBody: "grant_type=client_credentials&client_id=c&client_secret=s", wantErr: true, undescribed: true},
	})
}

// BenchmarkLoad measures an uncached Load of each vendor directory (skipped when its variable is
// unset): go test -run '^$' -bench Load -benchtime 5x ./internal/apispec/
func BenchmarkLoad(b *testing.B) {
	for _, env := range []string{hubspotSpecsEnv, learnworldsSpecsEnv} {
		b.Run(env, func(b *testing.B) {
			dir := os.Getenv(env)
			if dir == "" {
				b.Skipf("%s is not set", env)
			}
			for b.Loop() {
				if _, err := Load(dir); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
