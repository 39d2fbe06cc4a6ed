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
