package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// proxyMode is how the HubSpot proxy answers.
type proxyMode int32

const (
	proxyPass  proxyMode = iota // forward to the fake
	proxyDown                   // 503 with HubSpot's error body
	proxyDrop                   // close the connection without an answer
	proxy429                    // 429 TEN_SECONDLY_ROLLING, HubSpot's body
	proxyFlaky                  // half the requests get a 500, 502 or 504
)

// hsProxy is HubSpot as the server sees it: the fake behind a proxy that injects outages for as
// long as a fault lasts (the fake's own faults hit a number of requests, not a period) and counts
// every timeline event HubSpot accepted, so an event sent twice is seen even though HubSpot
// replaces an event sent again with the same id.
type hsProxy struct {
	srv  *httptest.Server
	mode atomic.Int32

	mu       sync.Mutex
	rnd      *rand.Rand
	accepted map[string]int // "type|id" -> times HubSpot accepted it
	faulted  int
}

func newHSProxy(target string, seed uint64) (*hsProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	p := &hsProxy{rnd: rand.New(rand.NewPCG(seed, 7)), accepted: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = p.countTimeline
	rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.fault(w) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	return p, nil
}

func (p *hsProxy) set(m proxyMode) { p.mode.Store(int32(m)) }

// fault answers the request when a fault is on, and reports whether it did.
func (p *hsProxy) fault(w http.ResponseWriter) bool {
	status := 0
	switch proxyMode(p.mode.Load()) {
	case proxyPass:
		return false
	case proxyDown:
		status = http.StatusServiceUnavailable
	case proxy429:
		status = http.StatusTooManyRequests
	case proxyFlaky:
		p.mu.Lock()
		n := p.rnd.IntN(6)
		p.mu.Unlock()
		if n >= 3 {
			return false
		}
		status = []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout}[n]
	case proxyDrop:
		p.mu.Lock()
		p.faulted++
		p.mu.Unlock()
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	}
	p.mu.Lock()
	p.faulted++
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	if status == http.StatusTooManyRequests {
		fmt.Fprint(w, `{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","category":"RATE_LIMITS","correlationId":"00000000-0000-4000-8000-000000000000","policyName":"TEN_SECONDLY_ROLLING"}`)
		return true
	}
	fmt.Fprintf(w, `{"status":"error","message":"injected by hubsync-chaos: HTTP %d","correlationId":"00000000-0000-4000-8000-000000000000","category":"INTERNAL_ERROR"}`, status)
	return true
}

// countTimeline records the timeline events in a 2xx answer to a timeline request.
func (p *hsProxy) countTimeline(resp *http.Response) error {
	if !strings.Contains(resp.Request.URL.Path, "/timeline/") || resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return nil
	}
	type ev struct {
		ID              string `json:"id"`
		EventTemplateID string `json:"eventTemplateId"`
		EventTypeName   string `json:"eventTypeName"`
	}
	var ans struct {
		Results []ev `json:"results"`
		ev
	}
	if json.Unmarshal(body, &ans) != nil {
		return nil
	}
	evs := ans.Results
	if len(evs) == 0 && ans.ID != "" {
		evs = []ev{ans.ev}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range evs {
		p.accepted[e.EventTemplateID+e.EventTypeName+"|"+e.ID]++
	}
	return nil
}

// resent returns how many accepted timeline events HubSpot had already accepted before, for
// event types whose name satisfies match.
func (p *hsProxy) resent(match func(typ string) bool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for k, c := range p.accepted {
		typ, _, _ := strings.Cut(k, "|")
		if c > 1 && match(typ) {
			n += c - 1
		}
	}
	return n
}

func (p *hsProxy) close() { p.srv.Close() }
