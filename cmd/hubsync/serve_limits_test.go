package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeLimits runs a real "hubsync serve" over loopback and checks its HTTP limits: a webhook
// body trickled a byte at a time is cut by --read-timeout (slowloris), webhook requests past
// --max-webhooks get 503 with Retry-After while the others hang, the slots come back once they
// are cut, /healthz stays open and says nothing private, and /status is off without an admin
// token.
func TestServeLimits(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.connect(t)
	s := f.start(t, "serve", "--listen", "127.0.0.1:0", "--read-timeout", "5s", "--max-webhooks", "2")
	line := s.waitLine(t, func(l string) bool { return strings.HasPrefix(l, "Serving school") })
	base := line[strings.LastIndex(line, " ")+1:]
	addr := strings.TrimPrefix(base, "http://")

	// Two slow senders: headers promising 10,000 bytes, then a byte every 200 ms. Without a
	// read deadline on the body they would hold their connections for over half an hour.
	type cut struct {
		after time.Duration
		sent  int
		err   error
	}
	cuts := make(chan cut, 2)
	for range 2 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		start := time.Now()
		fmt.Fprintf(conn, "POST /hubspot/webhooks HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n[", addr)
		stop := make(chan struct{})
		sent := make(chan int, 1)
		go func() { // the trickle, until the server hangs up
			n := 1
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			defer func() { sent <- n }()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := conn.Write([]byte(" ")); err != nil {
						return
					}
					n++
				}
			}
		}()
		go func() { // the reader: returns when the server answers and closes, or at the bound
			_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, err := io.ReadAll(bufio.NewReader(conn))
			close(stop)
			cuts <- cut{after: time.Since(start), sent: <-sent, err: err}
		}()
	}

	// Past the cap: 503 with Retry-After, while the two slow bodies fill it (for the 5 s of the
	// read timeout: long enough for a loaded machine to see it; 2 s was not always).
	post := func() *http.Response {
		resp, err := http.Post(base+"/hubspot/webhooks", "application/json", strings.NewReader("[]"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	var capped *http.Response
	waitFor(t, "a webhook request refused for the cap", func() bool {
		capped = post()
		return capped.StatusCode == http.StatusServiceUnavailable
	})
	if capped.Header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After: %v", capped.Header)
	}

	for range 2 {
		c := <-cuts
		// A server hanging up on a client that still writes may reset the connection (the
		// kernel answers the trickle's next byte with RST): that is a cut too. Only the read
		// deadline says the body was not cut.
		if c.err != nil && !errors.Is(c.err, syscall.ECONNRESET) {
			t.Fatalf("the slow body was not cut within 20 s (sent %d of 10000 bytes): %v", c.sent, c.err)
		}
		if c.after > 15*time.Second || c.sent >= 10000 {
			t.Fatalf("the slow body was cut after %v and %d bytes; want about 5 s", c.after, c.sent)
		}
	}
	// The slots are free again: an unsigned delivery gets through the cap and is refused for
	// its signature.
	waitFor(t, "the cap's slots back", func() bool { return post().StatusCode == http.StatusUnauthorized })

	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != `{"ok":true}` {
		t.Fatalf("/healthz: %s %s", resp.Status, body)
	}
	if code := getStatus(t, base, "Bearer anything-at-all-0123456789"); code != http.StatusForbidden {
		t.Fatalf("/status without --admin-token: %d, want 403 (off)", code)
	}
}

// TestServeRefusesShortAdminToken checks serve refuses an admin token too short to be random.
func TestServeRefusesShortAdminToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if r := f.run(t, "serve", "--listen", "127.0.0.1:0", "--admin-token", "secret"); r.code != exitUsage || !strings.Contains(r.stderr, "--admin-token") || strings.Contains(r.stderr, "secret\"") {
		t.Fatalf("serve with a 6-character admin token: exit %d\n%s", r.code, r.stderr)
	}
}
