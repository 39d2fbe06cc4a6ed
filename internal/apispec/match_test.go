package apispec

import (
	"slices"
	"strings"
	"testing"
)

func TestBasePath(t *testing.T) {
	t.Parallel()
	tests := []struct{ url, want string }{
		{"https://api.hubapi.com", ""},
		{"https://api.hubapi.com/", ""},
		{"https://{SCHOOLHOMEPAGE}/admin/api/", "/admin/api"},
		{"https://{school}/admin/api/v2?x=1", "/admin/api/v2"},
		{"https://stoplight.io/mocks/learnworlds/api:main/2951998", "/mocks/learnworlds/api:main/2951998"},
		{"/relative/base/", "/relative/base"},
		{"relative", "/relative"},
		{"https://example.com/{version}/api", ""}, // a variable in the path: not supported, skipped
		{"", ""},
	}
	for _, tt := range tests {
		if got := basePath(tt.url); got != tt.want {
			t.Errorf("basePath(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

func TestCandidatePaths(t *testing.T) {
	t.Parallel()
	s := &Specs{}
	s.addPrefix("/admin/api")
	s.StripPrefix("/admin/") // trailing slash ignored
	s.StripPrefix("/")       // nothing
	s.StripPrefix("")        // nothing
	if got, want := s.Prefixes(), []string{"/admin/api", "/admin"}; !slices.Equal(got, want) {
		t.Fatalf("Prefixes() = %q, want %q", got, want)
	}
	tests := []struct {
		path string
		want []string
	}{
		{"/admin/api/v2/users", []string{"/admin/api/v2/users", "/v2/users", "/api/v2/users"}},
		{"/admin/api", []string{"/admin/api", "/", "/api"}},
		{"/admin/apiv2/users", []string{"/admin/apiv2/users", "/apiv2/users"}}, // "/admin/api" is not a segment prefix here
		{"/v2/users", []string{"/v2/users"}},
	}
	for _, tt := range tests {
		if got := s.candidatePaths(tt.path); !slices.Equal(got, tt.want) {
			t.Errorf("candidatePaths(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestStripPrefixPanicsOnRelativePrefix(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "must start with /") {
			t.Errorf("recover() = %v, want a panic naming the rule", r)
		}
	}()
	(&Specs{}).StripPrefix("admin/api")
}

func TestAllowRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, pattern string
		matches         []string // "METHOD /path"
		misses          []string
	}{
		{"POST", "/admin/api/oauth2/access_token",
			[]string{"POST /admin/api/oauth2/access_token", "post /admin/api/oauth2/access_token"},
			[]string{"GET /admin/api/oauth2/access_token", "POST /admin/api/oauth2/access_token/x", "POST /admin/api/oauth2"}},
		{"", "/_fake/{kind}/reset",
			[]string{"GET /_fake/faults/reset", "DELETE /_fake/x/reset"},
			[]string{"GET /_fake//reset", "GET /_fake/faults/reset/now", "GET /_fake/reset"}},
		{"*", "/_fake/*",
			[]string{"PUT /_fake", "PUT /_fake/", "PUT /_fake/a/b/c"},
			[]string{"PUT /_fakes/a", "PUT /other"}},
	}
	for _, tt := range tests {
		rule, err := parseAllow(tt.method, tt.pattern, "test")
		if err != nil {
			t.Fatalf("parseAllow(%q, %q): %v", tt.method, tt.pattern, err)
		}
		for _, m := range tt.matches {
			method, path, _ := strings.Cut(m, " ")
			if !rule.match(method, path) {
				t.Errorf("%s %s does not match %s", tt.method, tt.pattern, m)
			}
		}
		for _, m := range tt.misses {
			method, path, _ := strings.Cut(m, " ")
			if rule.match(method, path) {
				t.Errorf("%s %s matches %s", tt.method, tt.pattern, m)
			}
		}
	}
}

func TestAllowRejectsBadRules(t *testing.T) {
	t.Parallel()
	tests := []struct{ method, pattern, reason, want string }{
		{"GET", "/x", " ", "reason is empty"},
		{"GET", "x/y", "r", "must start with /"},
		{"GET", "/x/*/y", "r", "* is only allowed"},
		{"GET", "/x/y*", "r", "* is only allowed"},
	}
	for _, tt := range tests {
		_, err := parseAllow(tt.method, tt.pattern, tt.reason)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "apispec: ") {
			t.Errorf("parseAllow(%q, %q, %q) = %v, want error with %q", tt.method, tt.pattern, tt.reason, err, tt.want)
		}
	}
	s := &Specs{}
	s.Allow("GET", "/ok", "fine")
	if got := s.Allowed(); !slices.Equal(got, []string{"GET /ok: fine"}) {
		t.Errorf("Allowed() = %q", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("Allow with a bad pattern did not panic")
		}
	}()
	s.Allow("GET", "no-slash", "r")
}

func TestMaskPath(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"/v2/users/jane.doe@example.com", "/v2/users/j***@example.com"},
		{"/v2/users/jane.doe%40example.com/tags", "/v2/users/j***@example.com/tags"},
		{"/oauth/v1/refresh-tokens/6f1a2b3c-1111-2222-3333-444455556666", "/oauth/v1/refresh-tokens/6f1a***"},
		{"/crm/v3/objects/contacts/12345", "/crm/v3/objects/contacts/12345"},
	}
	for _, tt := range tests {
		if got := maskPath(tt.in); got != tt.want {
			t.Errorf("maskPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
