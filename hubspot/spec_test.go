package hubspot_test

import (
	"net/http"
	"testing"
)

// testTransport returns base; spec validation is wired in when internal/apispec is available.
func testTransport(t *testing.T, base http.RoundTripper) http.RoundTripper {
	t.Helper()
	return base
}
