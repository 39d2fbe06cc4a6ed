package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"

	"github.com/hubsync/hubsync/hubspot"
)

// relay stands between a fake's webhook emitter and the server. It answers each delivery at once
// and forwards deliveries to the server one at a time, in the order received, retrying each until
// the server accepts it (2xx). That is what the real services do and the fakes do not: HubSpot
// retries a failed delivery for up to a day (the fake retries only on its next change and drops an
// event after 10 attempts, which a few seconds of downtime exhausts) and LearnWorlds redelivers a
// failed delivery (the fake never does on its own). Delivering in order keeps a retried, older
// body from landing after a newer one, which a LearnWorlds body would do, as it carries the
// learner's whole state and no change time.
type relay struct {
	name   string
	target string
	// sign, when set, signs a delivery afresh for the target (HubSpot's v3 signature covers the
	// URL and a timestamp that must be recent).
	sign func(req *http.Request, body []byte)

	srv  *httptest.Server
	hc   *http.Client
	kick chan struct{}

	mu        sync.Mutex
	queue     []delivery
	received  int
	delivered int
	attempts  int
	retried   int // deliveries that needed more than one attempt
	maxDelay  time.Duration
}

type delivery struct {
	body   []byte
	header http.Header
	at     time.Time
	tries  int
}

func newRelay(name, target string, sign func(*http.Request, []byte)) *relay {
	r := &relay{name: name, target: target, sign: sign, kick: make(chan struct{}, 1),
		hc: &http.Client{Timeout: 10 * time.Second}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.receive))
	return r
}

func (r *relay) receive(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	h := http.Header{}
	for k, v := range req.Header {
		h[k] = append([]string(nil), v...)
	}
	r.mu.Lock()
	r.queue = append(r.queue, delivery{body: body, header: h, at: time.Now()})
	r.received++
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
	w.WriteHeader(http.StatusNoContent)
}

// run delivers until ctx ends.
func (r *relay) run(ctx context.Context) {
	for {
		r.mu.Lock()
		var d delivery
		n := len(r.queue)
		if n > 0 {
			d = r.queue[0]
		}
		r.mu.Unlock()
		if n == 0 {
			select {
			case <-ctx.Done():
				return
			case <-r.kick:
			case <-time.After(time.Second):
			}
			continue
		}
		ok := r.post(ctx, d)
		r.mu.Lock()
		r.attempts++
		if ok {
			if r.queue[0].tries > 0 {
				r.retried++
			}
			if wait := time.Since(d.at); wait > r.maxDelay {
				r.maxDelay = wait
			}
			r.queue = r.queue[1:]
			r.delivered++
		} else {
			r.queue[0].tries++
		}
		r.mu.Unlock()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-time.After(150 * time.Millisecond):
			}
		}
	}
}

func (r *relay) post(ctx context.Context, d delivery) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.target, bytes.NewReader(d.body))
	if err != nil {
		return false
	}
	for k, v := range d.header {
		req.Header[k] = v
	}
	req.Header.Del("Content-Length")
	if r.sign != nil {
		r.sign(req, d.body)
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode <= 299
}

// pending is the number of deliveries not yet accepted by the server.
func (r *relay) pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queue)
}

// relayStats are a relay's counters for the report.
type relayStats struct {
	Received  int     `json:"received"`
	Delivered int     `json:"delivered"`
	Attempts  int     `json:"attempts"`
	Retried   int     `json:"retried"`
	MaxDelayS float64 `json:"max_delay_s"`
}

func (r *relay) stats() relayStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return relayStats{Received: r.received, Delivered: r.delivered, Attempts: r.attempts, Retried: r.retried, MaxDelayS: r.maxDelay.Seconds()}
}

func (r *relay) close() { r.srv.Close() }

// hubspotSigner signs a relayed HubSpot delivery for target with the app's client secret, as
// HubSpot signs one: v3 over method, URL, body and timestamp, and v1.
func hubspotSigner(secret string) func(*http.Request, []byte) {
	return func(req *http.Request, body []byte) {
		ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
		req.Header.Set(hubspot.HeaderTimestamp, ts)
		req.Header.Set(hubspot.HeaderSignatureV3, hubspot.SignV3(secret, http.MethodPost, req.URL.String(), body, ts))
		req.Header.Set(hubspot.HeaderSignature, hubspot.SignV1(secret, body))
	}
}
