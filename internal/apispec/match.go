package apispec

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/pb33f/libopenapi-validator/router"
)

// allowRule is one operation that no document needs to describe.
type allowRule struct {
	method   string   // upper case; "" matches every method
	segments []string // "{name}" matches one segment, a final "*" matches the rest (possibly empty)
	pattern  string
	reason   string
}

// Allow declares that requests with this method and path need no document describing them, for
// endpoints the vendor documents omit (for example a token endpoint) and for a fake's own admin
// routes. method is matched case-insensitively; "" or "*" means any method. pathPattern is matched
// against the request path as sent (no prefix is stripped): a "{name}" segment matches any one
// segment, and a final "*" segment matches whatever follows (including nothing). reason is kept for
// the reader and shown by [Specs.Allowed]. When a document does describe the operation, the exchange
// is validated as usual: Allow only waives the "no document describes" error.
//
// Allow panics when pathPattern does not start with "/" or has "*" anywhere but as the last segment,
// or reason is empty: these are programming errors in a test. Calling it on a nil *Specs does nothing.
func (s *Specs) Allow(method, pathPattern, reason string) {
	if s == nil {
		return
	}
	rule, err := parseAllow(method, pathPattern, reason)
	if err != nil {
		panic(err)
	}
	s.allowed = append(s.allowed, rule)
}

// parseAllow checks and compiles an Allow rule.
func parseAllow(method, pathPattern, reason string) (allowRule, error) {
	if strings.TrimSpace(reason) == "" {
		return allowRule{}, fmt.Errorf("apispec: Allow %s %q: reason is empty", method, pathPattern)
	}
	if !strings.HasPrefix(pathPattern, "/") {
		return allowRule{}, fmt.Errorf("apispec: Allow %s %q: path pattern must start with /", method, pathPattern)
	}
	segs := strings.Split(pathPattern[1:], "/")
	for i, seg := range segs {
		if strings.Contains(seg, "*") && (seg != "*" || i != len(segs)-1) {
			return allowRule{}, fmt.Errorf("apispec: Allow %s %q: * is only allowed as the whole last segment", method, pathPattern)
		}
	}
	m := strings.ToUpper(strings.TrimSpace(method))
	if m == "*" {
		m = ""
	}
	return allowRule{method: m, segments: segs, pattern: pathPattern, reason: reason}, nil
}

// match reports whether the rule covers method and path.
func (r allowRule) match(method, path string) bool {
	if r.method != "" && r.method != strings.ToUpper(method) {
		return false
	}
	if !strings.HasPrefix(path, "/") {
		return false
	}
	segs := strings.Split(path[1:], "/")
	for i, want := range r.segments {
		if want == "*" && i == len(r.segments)-1 {
			return true
		}
		if i >= len(segs) {
			return false
		}
		if isParam(want) {
			if segs[i] == "" {
				return false
			}
			continue
		}
		if want != segs[i] {
			return false
		}
	}
	return len(segs) == len(r.segments)
}

// isParam reports whether seg is a whole-segment "{name}" template.
func isParam(seg string) bool {
	return len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}'
}

// Allowed lists the Allow rules as "METHOD pattern: reason" lines, in the order they were added.
func (s *Specs) Allowed() []string {
	if s == nil {
		return nil
	}
	out := make([]string, len(s.allowed))
	for i, r := range s.allowed {
		m := r.method
		if m == "" {
			m = "*"
		}
		out[i] = fmt.Sprintf("%s %s: %s", m, r.pattern, r.reason)
	}
	return out
}

// allows reports whether an Allow rule covers method and path.
func (s *Specs) allows(method, path string) bool {
	return slices.ContainsFunc(s.allowed, func(r allowRule) bool { return r.match(method, path) })
}

// StripPrefix adds a path prefix (such as "/admin/api") that is removed from request paths before
// they are matched against the documents, in addition to the documents' own server base paths. A
// trailing slash is ignored; "" and "/" do nothing. Calling it on a nil *Specs does nothing. It
// panics when prefix does not start with "/" (a programming error in a test).
func (s *Specs) StripPrefix(prefix string) {
	if s == nil {
		return
	}
	if !strings.HasPrefix(prefix, "/") && prefix != "" {
		panic(fmt.Sprintf("apispec: StripPrefix %q: prefix must start with /", prefix))
	}
	s.addPrefix(strings.TrimRight(prefix, "/"))
}

// candidatePaths returns the escaped request path as sent followed by the path with each known prefix
// removed, for the prefixes it starts with at a segment boundary. The stripped path always starts
// with "/".
func (s *Specs) candidatePaths(path string) []string {
	out := []string{path}
	for _, p := range s.prefixes {
		rest, ok := strings.CutPrefix(path, p)
		if !ok || (rest != "" && rest[0] != '/') {
			continue
		}
		if rest == "" {
			rest = "/"
		}
		if !slices.Contains(out, rest) {
			out = append(out, rest)
		}
	}
	return out
}

// match is one document that describes an exchange's operation.
type match struct {
	doc   *document
	route *router.Route
	path  string // the request path with the prefix removed
}

// describe returns the documents whose paths and methods cover the request, each with the first
// candidate path (as sent, then prefixes longest first) that matched it.
func (s *Specs) describe(req *http.Request) []match {
	var out []match
	cands := s.candidatePaths(req.URL.EscapedPath())
	for _, doc := range s.docs {
		for _, p := range cands {
			probe := withPath(req, p)
			route, err := doc.router.FindRoute(probe)
			if err != nil || route == nil || route.Operation == nil {
				continue
			}
			out = append(out, match{doc: doc, route: route, path: p})
			break
		}
	}
	return out
}

// withPath returns a copy of req whose URL has the escaped path p. The body is shared: callers
// replace it before reading.
func withPath(req *http.Request, p string) *http.Request {
	r := req.Clone(req.Context())
	u := *req.URL
	u.Path = mustUnescape(p)
	u.RawPath = p // used by EscapedPath only when it is a valid encoding of Path
	r.URL = &u
	return r
}

// mustUnescape unescapes an escaped path, returning it unchanged when it is malformed.
func mustUnescape(p string) string {
	if u, err := url.PathUnescape(p); err == nil {
		return u
	}
	return p
}
