package learnworlds

import (
	"net/url"
	"strings"
)

// pathEscape encodes an id or email as one path segment, "@" included ("a%40b.com"), as the API
// documents for "User Id or email (encoded string)".
func pathEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// truncate shortens s to n bytes and marks the cut with "...", for quoting input in an error.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
