package apispec

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// cache holds one load per directory for the life of the process, so that many tests (and many
// packages' tests in one binary) compile the big vendor documents once.
var loaded sync.Map // cleaned absolute dir -> *cacheEntry

type cacheEntry struct {
	once  sync.Once
	specs *Specs
	err   error
}

// LoadCached is [Load] with the result (documents or error) kept per directory for the life of the
// process. Every call returns its own *Specs over the shared compiled documents, so [Specs.Allow] and
// [Specs.StripPrefix] on one result do not affect another. Errors are those of Load.
func LoadCached(dir string) (*Specs, error) {
	key := dir
	if abs, err := filepath.Abs(dir); err == nil {
		key = abs
	}
	v, _ := loaded.LoadOrStore(filepath.Clean(key), &cacheEntry{})
	e := v.(*cacheEntry)
	e.once.Do(func() { e.specs, e.err = Load(dir) })
	if e.err != nil {
		return nil, e.err
	}
	return e.specs.clone(), nil
}

// clone returns a *Specs sharing the compiled documents with its own prefixes and Allow rules.
func (s *Specs) clone() *Specs {
	c := *s
	c.docs = slices.Clone(s.docs)
	c.prefixes = slices.Clone(s.prefixes)
	c.allowed = slices.Clone(s.allowed)
	return &c
}

// FromEnv loads (once per process, see [LoadCached]) the directory named by the environment variable
// envVar. When the variable is unset or empty it returns nil, which every method accepts as "validate
// nothing", and logs with t.Log that spec validation is skipped and why. A load failure is t.Fatal.
func FromEnv(t testing.TB, envVar string) *Specs {
	t.Helper()
	dir := os.Getenv(envVar)
	if dir == "" {
		t.Logf("apispec: %s is not set, so traffic is not validated against the OpenAPI documents; set it to the directory holding them to validate", envVar)
		return nil
	}
	s, err := LoadCached(dir)
	if err != nil {
		t.Fatalf("apispec: %s: %v", envVar, err)
	}
	return s
}

// Transport wraps base (nil means http.DefaultTransport) so that every request and response passing
// through is checked with [Specs.Check]; each mismatch, including an operation no document describes,
// is reported with t.Errorf naming method, path, document and the validation messages. The request
// and response bodies are buffered so that both the server and the caller still read them whole.
// Transport errors from base are passed through unchecked. A nil *Specs returns base unchanged.
func (s *Specs) Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if s == nil {
		return base
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{specs: s, t: t, base: base}
}

// transport is the RoundTripper returned by Transport.
type transport struct {
	specs *Specs
	t     testing.TB
	base  http.RoundTripper
}

// RoundTrip buffers the request body, sends the request through base, buffers the response body and
// checks the exchange.
func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A RoundTripper must not modify the caller's request: send a copy with a replayable body.
	out := req.Clone(req.Context())
	body, err := requestBody(out) // leaves out.Body and out.GetBody readable
	if err != nil {
		return nil, err
	}
	resp, err := tr.base.RoundTrip(out)
	if err != nil {
		return resp, err
	}
	check := out.Clone(out.Context())
	if body != nil {
		check.Body = io.NopCloser(bytes.NewReader(body))
	}
	if err := tr.specs.Check(check, resp); err != nil {
		tr.t.Errorf("%v", err)
	}
	return resp, nil
}
