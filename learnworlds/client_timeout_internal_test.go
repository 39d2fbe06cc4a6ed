package learnworlds

import "testing"

// TestDefaultHTTPClientTimesOut: without Config.HTTPClient, requests are bounded (they used
// http.DefaultClient, which waits for ever on a server that never answers).
func TestDefaultHTTPClientTimesOut(t *testing.T) {
	t.Parallel()
	c, err := New(Config{BaseURL: "https://school.example", ClientID: "id", AccessToken: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if c.hc.Timeout != DefaultTimeout || DefaultTimeout <= 0 {
		t.Fatalf("default client timeout = %v, want DefaultTimeout (%v)", c.hc.Timeout, DefaultTimeout)
	}
}
