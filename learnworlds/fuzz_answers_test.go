package learnworlds_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubsync/hubsync/learnworlds"
)

// The fuzz targets of this file decode whatever LearnWorlds might answer, through the exported
// client over a transport that returns the fuzzed status and body (no network, no retries, no
// waits): a call must return (never panic or hang) and what it returns must hold together.

var answerStatuses = []int{200, 201, 400, 401, 403, 404, 422, 429, 500, 503}

// answer returns status and body to every request, except that tokenBody (when set) answers the
// token endpoint with 200.
type answer struct {
	status    int
	body      []byte
	tokenBody []byte
}

func (a answer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	status, body := a.status, a.body
	if a.tokenBody != nil && strings.HasSuffix(r.URL.Path, "/oauth2/access_token") {
		status, body = http.StatusOK, a.tokenBody
	}
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(body)), Request: r,
	}, nil
}

func fuzzClient(t *testing.T, a answer, secret string) *learnworlds.Client {
	cfg := learnworlds.Config{BaseURL: "https://school.learnworlds.test", ClientID: "fuzz-client", HTTPClient: &http.Client{Transport: a},
		MaxRetries: -1, RateLimit: 1_000_000, RatePer: time.Second}
	if secret != "" {
		cfg.ClientSecret = secret
	} else {
		cfg.AccessToken = "fuzz-access-token"
	}
	c, err := learnworlds.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func answerCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func noHang(t *testing.T, ctx context.Context, what string, err error) {
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		t.Fatalf("%s hung on the answer: %v", what, err)
	}
}

// FuzzUsersAnswer decodes user pages and single users.
func FuzzUsersAnswer(f *testing.F) {
	f.Add(uint8(0), []byte(`{"data":[{"id":"1","email":"a@x.example","username":"a","created":1700000000.5,"fields":{"country":"GR"},"tags":["t"]}],"meta":{"page":1,"totalItems":1,"totalPages":1,"itemsPerPage":200}}`))
	f.Add(uint8(0), []byte(`{"data":[],"meta":{"page":1,"totalPages":0}}`))
	f.Add(uint8(0), []byte(`{"data":null,"meta":null}`))
	f.Add(uint8(0), []byte(`{"id":"1","email":"a@x.example","utm":{"fc_source":"x"},"created_at":"2021-12-02T11:24:32+02:00"}`))
	f.Add(uint8(7), []byte(`{"error":"Too many requests"}`))
	f.Add(uint8(6), []byte(`{"statusCode":422,"error":"Validation Failed","errors":{"email":[{"0":"jane@example.com is taken"}]}}`))
	f.Fuzz(func(t *testing.T, status uint8, body []byte) {
		ctx := answerCtx(t)
		c := fuzzClient(t, answer{status: answerStatuses[int(status)%len(answerStatuses)], body: body}, "")
		_, err := c.ListUsersPage(ctx, 1, learnworlds.ListUsersOptions{})
		noHang(t, ctx, "ListUsersPage", err)
		n := 0
		for _, err := range c.Users(ctx, learnworlds.ListUsersOptions{}) {
			noHang(t, ctx, "Users", err)
			if n++; n >= 5 || err != nil {
				break
			}
		}
		_, err = c.GetUser(ctx, "a@x.example")
		noHang(t, ctx, "GetUser", err)
		if err != nil && strings.Contains(err.Error(), "a@x.example") {
			t.Fatalf("GetUser error shows the full email: %v", err)
		}
	})
}

// FuzzPaymentAnswer decodes payment lists.
func FuzzPaymentAnswer(f *testing.F) {
	f.Add(uint8(0), []byte(`{"data":[{"id":"p1","user_id":"1","product":{"id":"c1","type":"course","name":"C"},"price":10.5,"currency":"EUR","created":1700000000}],"meta":{"page":1,"totalPages":1}}`))
	f.Add(uint8(0), []byte(`{"data":[]}`))
	f.Add(uint8(0), []byte(`{"data":[{"created":"2021-12-02T11:24:32+02:00","price":"10"}]}`))
	f.Add(uint8(5), []byte(`{"errors":[{"code":"404","message":"not found"}],"success":false}`))
	f.Fuzz(func(t *testing.T, status uint8, body []byte) {
		ctx := answerCtx(t)
		c := fuzzClient(t, answer{status: answerStatuses[int(status)%len(answerStatuses)], body: body}, "")
		p, err := c.LatestPayment(ctx, "a@x.example")
		noHang(t, ctx, "LatestPayment", err)
		if err == nil {
			_ = p.When()
		}
	})
}

// FuzzTokenAnswer decodes the client-credentials token answer: the call it is minted for either
// fails or goes on, and no error shows the client secret.
func FuzzTokenAnswer(f *testing.F) {
	f.Add([]byte(`{"success":true,"tokenData":{"access_token":"tok","token_type":"Bearer","expires_in":8000}}`))
	f.Add([]byte(`{"success":true,"tokenData":{"access_token":""}}`))
	f.Add([]byte(`{"tokenData":{"access_token":"tok","expires_in":-1}}`))
	f.Add([]byte(`{"tokenData":{"access_token":"tok","expires_in":1e300}}`))
	f.Add([]byte(`{"success":false,"errors":[{"code":"401","message":"invalid client"}]}`))
	f.Fuzz(func(t *testing.T, tokenBody []byte) {
		ctx := answerCtx(t)
		const secret = "fuzz-client-secret"
		user := []byte(`{"id":"1","email":"a@x.example","username":"a"}`)
		c := fuzzClient(t, answer{status: http.StatusOK, body: user, tokenBody: tokenBody}, secret)
		_, err := c.GetUser(ctx, "1")
		noHang(t, ctx, "GetUser", err)
		if err != nil && !bytes.Contains(tokenBody, []byte(secret)) && strings.Contains(err.Error(), secret) {
			t.Fatalf("error shows the client secret: %v", err)
		}
	})
}

// FuzzSignatureHeader checks Verify against a reference reading of the header: it accepts exactly
// when some comma-separated part, trimmed, is "v1=" followed by the expected value (any case of
// hex for the HMAC scheme), and every refusal wraps ErrBadSignature.
func FuzzSignatureHeader(f *testing.F) {
	body := []byte(`{"version":2,"type":"userUpdated","data":{}}`)
	for _, v := range []learnworlds.Verifier{{Secret: "whsec"}, {Secret: "whsec", Scheme: learnworlds.SignatureHMACSHA256}} {
		f.Add(v.Sign(body), body)
		f.Add("v0=x, "+strings.ToUpper(v.Sign(body)), body)
	}
	f.Add("", body)
	f.Add("v1=", []byte{})
	f.Add(" , ,v1=whsec ,", body)
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		for _, v := range []learnworlds.Verifier{{Secret: "whsec"}, {Secret: "whsec", Scheme: learnworlds.SignatureHMACSHA256}} {
			want := strings.TrimPrefix(v.Sign(body), "v1=")
			match := false
			for part := range strings.SplitSeq(strings.TrimSpace(header), ",") {
				got, ok := strings.CutPrefix(strings.TrimSpace(part), "v1=")
				if v.Scheme == learnworlds.SignatureHMACSHA256 {
					got = strings.ToLower(got)
				}
				match = match || (ok && got == want)
			}
			err := v.Verify(header, body)
			if match != (err == nil) {
				t.Fatalf("scheme %d: Verify(%q) = %v; the header matches: %v", v.Scheme, header, err, match)
			}
			if err != nil && !errors.Is(err, learnworlds.ErrBadSignature) {
				t.Fatalf("scheme %d: Verify(%q) = %v, not ErrBadSignature", v.Scheme, header, err)
			}
			if err != nil && strings.Contains(err.Error(), "whsec") {
				t.Fatalf("the error shows the secret: %v", err)
			}
		}
	})
}
