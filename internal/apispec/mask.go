package apispec

import (
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// emailRE finds e-mail addresses (plain or with "@" escaped as %40) in messages and paths.
var emailRE = regexp.MustCompile(`([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*(@|%40)([A-Za-z0-9.\-]+\.[A-Za-z]{2,})`)

// maskEmails replaces every e-mail address in s with its first letter, "***" and its domain
// ("jane@example.com" -> "j***@example.com").
func maskEmails(s string) string {
	return emailRE.ReplaceAllString(s, "$1***@$3")
}

// opaqueSegmentLen is the length from which a path segment without an "@" is taken for a token or
// other opaque secret and masked in messages. HubSpot puts OAuth tokens in paths
// (/oauth/v1/refresh-tokens/{token}); ids and names are shorter.
const opaqueSegmentLen = 24

// maskPath masks e-mail addresses and long opaque segments in an escaped request path.
func maskPath(p string) string {
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		if len(seg) >= opaqueSegmentLen && !strings.Contains(seg, "@") && !strings.Contains(seg, "%40") {
			segs[i] = seg[:4] + "***"
		}
	}
	return maskEmails(strings.Join(segs, "/"))
}

// scrub rewrites a validation message so that it names the path template instead of the request
// path (which may hold a token or an address) and masks any e-mail address the library quoted.
// paths are the request path forms to replace, longest first.
func scrub(msg, template string, paths ...string) string {
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) > len(paths[j]) })
	for _, p := range paths {
		if p != "" && p != "/" && p != template {
			msg = strings.ReplaceAll(msg, p, template)
		}
	}
	return maskEmails(msg)
}

// minSecretLen is the length from which a query or form value, or the credentials of an
// Authorization header, is masked wherever a validation message quotes it.
const minSecretLen = 12

// secretValues returns the values of req that may be secrets: its query and form-encoded body
// values and its Authorization credentials, when at least minSecretLen long.
func secretValues(req *http.Request, body []byte) []string {
	var out []string
	add := func(vs url.Values) {
		for _, list := range vs {
			for _, v := range list {
				if len(v) >= minSecretLen {
					out = append(out, v)
				}
			}
		}
	}
	add(req.URL.Query())
	if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		if vs, err := url.ParseQuery(string(body)); err == nil {
			add(vs)
		}
	}
	if _, cred, ok := strings.Cut(req.Header.Get("Authorization"), " "); ok && len(cred) >= minSecretLen {
		out = append(out, cred)
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// maskSecrets replaces every occurrence of each secret in msg with its first four bytes and "***".
func maskSecrets(msg string, secrets []string) string {
	for _, v := range secrets {
		msg = strings.ReplaceAll(msg, v, v[:4]+"***")
	}
	return msg
}
