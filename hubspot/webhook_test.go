package hubspot

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The official test vectors (HubSpot docs and SDK tests, see the contract notes).
const vectorSecret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"

const vectorV1Body = `[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]`

func TestSignatureVectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"v1 docs", SignV1(vectorSecret, []byte(vectorV1Body)), "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"},
		{"v2 GET empty body", SignV2(vectorSecret, "GET", "https://www.example.com/webhook_uri", nil), "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"},
		{"v2 POST", SignV2(vectorSecret, "POST", "https://www.example.com/webhook_uri", []byte(`{"example_field":"example_value"}`)), "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900"},
		{"v1 python", SignV1(vectorSecret, []byte(`{'example_field':'example_value'}`)), "69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750"},
		{"v2 python", SignV2(vectorSecret, "POST", "https://www.example.com/webhook_uri", []byte(`{'example_field':'example_value'}`)), "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383"},
		{"v3 python", SignV3(vectorSecret, "POST", "https://www.example.com/webhook_uri", []byte(`{'example_field':'example_value'}`), "15000000"), "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.got != tt.want {
				t.Fatalf("signature = %s, want %s", tt.got, tt.want)
			}
		})
	}
}

func TestVerifyV3(t *testing.T) {
	t.Parallel()
	body := []byte(`[{"eventId":1}]`)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ms := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).UnixMilli(), 10) }
	uri := "https://hooks.example.com/hubspot/webhooks?school=a%3Ab&x=%20y"
	good := SignV3(vectorSecret, "POST", uri, body, ms(0))
	tests := []struct {
		name   string
		method string
		uri    string
		body   []byte
		ts     string
		sig    string
		want   error
	}{
		{"valid", "POST", uri, body, ms(0), good, nil},
		{"decoded uri signs the same", "POST", "https://hooks.example.com/hubspot/webhooks?school=a:b&x=%20y", body, ms(0), good, nil},
		{"undocumented escape is not decoded", "POST", "https://hooks.example.com/hubspot/webhooks?school=a%3Ab&x= y", body, ms(0), good, ErrBadSignature},
		{"4m59s old", "POST", uri, body, ms(-4*time.Minute - 59*time.Second), SignV3(vectorSecret, "POST", uri, body, ms(-4*time.Minute-59*time.Second)), nil},
		{"5m1s old", "POST", uri, body, ms(-5*time.Minute - time.Second), SignV3(vectorSecret, "POST", uri, body, ms(-5*time.Minute-time.Second)), ErrStaleRequest},
		{"from the future", "POST", uri, body, ms(6 * time.Minute), SignV3(vectorSecret, "POST", uri, body, ms(6*time.Minute)), ErrStaleRequest},
		{"bad timestamp", "POST", uri, body, "yesterday", good, ErrStaleRequest},
		{"tampered body", "POST", uri, []byte(`[{"eventId":2}]`), ms(0), good, ErrBadSignature},
		{"other method", "PUT", uri, body, ms(0), good, ErrBadSignature},
		{"other secret", "POST", uri, body, ms(0), SignV3("other", "POST", uri, body, ms(0)), ErrBadSignature},
		{"empty signature", "POST", uri, body, ms(0), "", ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := VerifyV3(vectorSecret, tt.method, tt.uri, tt.body, tt.ts, tt.sig, now)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("VerifyV3 = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyRequest(t *testing.T) {
	t.Parallel()
	now := time.UnixMilli(1564113600000)
	public := "https://www.example.com/webhook_uri"
	tests := []struct {
		name    string
		headers map[string]string
		body    string
		want    error
	}{
		{"v1", map[string]string{HeaderSignature: "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de", HeaderSignatureVersion: "v1"}, vectorV1Body, nil},
		{"v2", map[string]string{HeaderSignature: "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900", HeaderSignatureVersion: "v2"}, `{"example_field":"example_value"}`, nil},
		{"v3", map[string]string{HeaderSignatureV3: SignV3(vectorSecret, "POST", public, []byte(vectorV1Body), "1564113600000"), HeaderTimestamp: "1564113600000"}, vectorV1Body, nil},
		{"none", nil, vectorV1Body, ErrBadSignature},
		{"unknown version", map[string]string{HeaderSignature: "ab", HeaderSignatureVersion: "v9"}, vectorV1Body, ErrBadSignature},
		{"v1 wrong", map[string]string{HeaderSignature: strings.Repeat("0", 64)}, vectorV1Body, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("POST", "/webhook_uri", strings.NewReader(tt.body))
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			err := VerifyRequest(r, public, []byte(tt.body), vectorSecret, now)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("VerifyRequest = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestVerifyRequestV3Only checks VerifyRequestV3 refuses a request signed only with v1 or v2 (no
// timestamp, so replayable) and accepts a v3 one, and every Verify function refuses an empty
// secret (anyone can compute a signature made with none).
func TestVerifyRequestV3Only(t *testing.T) {
	t.Parallel()
	now := time.UnixMilli(1564113600000)
	public := "https://www.example.com/webhook_uri"
	req := func(h map[string]string) *http.Request {
		r := httptest.NewRequest("POST", "/webhook_uri", strings.NewReader(vectorV1Body))
		for k, v := range h {
			r.Header.Set(k, v)
		}
		return r
	}
	v1 := map[string]string{HeaderSignature: SignV1(vectorSecret, []byte(vectorV1Body)), HeaderSignatureVersion: "v1"}
	v2 := map[string]string{HeaderSignature: SignV2(vectorSecret, "POST", public, []byte(vectorV1Body)), HeaderSignatureVersion: "v2"}
	v3 := map[string]string{HeaderSignatureV3: SignV3(vectorSecret, "POST", public, []byte(vectorV1Body), "1564113600000"), HeaderTimestamp: "1564113600000"}
	for name, h := range map[string]map[string]string{"v1": v1, "v2": v2} {
		if err := VerifyRequest(req(h), public, []byte(vectorV1Body), vectorSecret, now); err != nil {
			t.Errorf("VerifyRequest %s = %v, want nil", name, err)
		}
		if err := VerifyRequestV3(req(h), public, []byte(vectorV1Body), vectorSecret, now); !errors.Is(err, ErrBadSignature) {
			t.Errorf("VerifyRequestV3 %s = %v, want ErrBadSignature", name, err)
		}
	}
	if err := VerifyRequestV3(req(v3), public, []byte(vectorV1Body), vectorSecret, now); err != nil {
		t.Errorf("VerifyRequestV3 v3 = %v", err)
	}
	// Signed with the empty secret: every check refuses it as a caller error, not as a match.
	empty := map[string]string{HeaderSignature: SignV1("", []byte(vectorV1Body)), HeaderSignatureVersion: "v1"}
	for name, err := range map[string]error{
		"VerifyRequest":   VerifyRequest(req(empty), public, []byte(vectorV1Body), "", now),
		"VerifyRequestV3": VerifyRequestV3(req(map[string]string{HeaderSignatureV3: SignV3("", "POST", public, []byte(vectorV1Body), "1564113600000"), HeaderTimestamp: "1564113600000"}), public, []byte(vectorV1Body), "", now),
		"VerifyV1":        VerifyV1("", []byte(vectorV1Body), SignV1("", []byte(vectorV1Body))),
		"VerifyV2":        VerifyV2("", "POST", public, nil, SignV2("", "POST", public, nil)),
		"VerifyV3":        VerifyV3("", "POST", public, nil, "1564113600000", SignV3("", "POST", public, nil, "1564113600000"), now),
	} {
		if !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s with an empty secret = %v, want ErrInvalidInput", name, err)
		}
	}
}

func TestParseWebhookEvents(t *testing.T) {
	t.Parallel()
	t.Run("official payload", func(t *testing.T) {
		t.Parallel()
		evs, err := ParseWebhookEvents([]byte(vectorV1Body))
		if err != nil {
			t.Fatal(err)
		}
		want := WebhookEvent{EventID: 1, SubscriptionID: 12345, PortalID: 62515, AppID: 54321, OccurredAt: time.UnixMilli(1564113600000).UTC(),
			SubscriptionType: "contact.creation", ObjectID: 123, ChangeSource: "CRM", ChangeFlag: "NEW"}
		if len(evs) != 1 || evs[0].OccurredAt != want.OccurredAt || evs[0].SubscriptionType != want.SubscriptionType ||
			evs[0].ObjectID != 123 || evs[0].PortalID != 62515 || evs[0].ChangeSource != "CRM" || evs[0].EventID != 1 || evs[0].AppID != 54321 {
			t.Fatalf("got %+v, want %+v", evs, want)
		}
	})
	tests := []struct {
		name    string
		body    string
		wantErr string
		check   func(t *testing.T, evs []WebhookEvent)
	}{
		{"eventType spelling", `[{"eventId":7,"eventType":"contact.propertyChange","occurredAt":1,"objectId":5,"propertyName":"firstname","propertyValue":"Ann","changeSource":"CRM_UI","sourceId":"userId:45678"}]`, "",
			func(t *testing.T, evs []WebhookEvent) {
				if evs[0].SubscriptionType != "contact.propertyChange" || evs[0].PropertyValue != "Ann" || evs[0].SourceID != "userId:45678" {
					t.Fatalf("got %+v", evs[0])
				}
			}},
		{"numeric and null values", `[{"subscriptionType":"contact.propertyChange","occurredAt":1,"propertyValue":42},{"subscriptionType":"contact.propertyChange","occurredAt":2,"propertyValue":null}]`, "",
			func(t *testing.T, evs []WebhookEvent) {
				if evs[0].PropertyValue != "42" || evs[1].PropertyValue != "" {
					t.Fatalf("got %q and %q", evs[0].PropertyValue, evs[1].PropertyValue)
				}
			}},
		{"merge", `[{"subscriptionType":"contact.merge","occurredAt":1,"primaryObjectId":1,"mergedObjectIds":[2,3],"newObjectId":4}]`, "",
			func(t *testing.T, evs []WebhookEvent) {
				if len(evs[0].MergedObjectIDs) != 2 || evs[0].NewObjectID != 4 {
					t.Fatalf("got %+v", evs[0])
				}
			}},
		{"empty array", `[]`, "", func(t *testing.T, evs []WebhookEvent) {
			if len(evs) != 0 {
				t.Fatal("want no events")
			}
		}},
		{"object not array", `{"eventId":1}`, "not a JSON array", nil},
		{"empty", ``, "not a JSON array", nil},
		{"broken json", `[{"eventId":`, "webhook body", nil},
		{"no type", `[{"eventId":1,"occurredAt":1}]`, "neither subscriptionType nor eventType", nil},
		{"no occurredAt", `[{"subscriptionType":"contact.creation"}]`, "no occurredAt", nil},
		{"object value", `[{"subscriptionType":"contact.creation","occurredAt":1,"propertyValue":{"a":1}}]`, "propertyValue", nil},
		{"wrong field type", `[{"subscriptionType":"contact.creation","occurredAt":"soon"}]`, "webhook body", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			evs, err := ParseWebhookEvents([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrInvalidInput mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, evs)
		})
	}
}

func FuzzParseWebhookEvents(f *testing.F) {
	f.Add([]byte(vectorV1Body))
	f.Add([]byte(`[{"eventType":"contact.propertyChange","occurredAt":1,"propertyValue":1.5e3}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := ParseWebhookEvents(body)
		if err != nil {
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("error %v does not wrap ErrInvalidInput", err)
			}
			return
		}
		for _, e := range evs {
			if e.SubscriptionType == "" || e.OccurredAt.IsZero() {
				t.Fatalf("accepted event without type or time: %+v", e)
			}
		}
	})
}

func FuzzVerifyV3(f *testing.F) {
	f.Add("POST", "https://www.example.com/webhook_uri", []byte(`{'example_field':'example_value'}`), "15000000", "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=")
	f.Add("GET", "https://a.example/x?y=%3A%2F", []byte{}, "1", "")
	f.Fuzz(func(t *testing.T, method, uri string, body []byte, ts, sig string) {
		now := time.UnixMilli(15000000)
		err := VerifyV3(vectorSecret, method, uri, body, ts, sig, now)
		if err != nil && !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrStaleRequest) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		// Whatever the input, the signature we compute ourselves must verify, and a changed
		// body must not.
		if _, perr := strconv.ParseInt(strings.TrimSpace(ts), 10, 64); perr == nil && strings.TrimSpace(ts) == ts {
			own := SignV3(vectorSecret, method, uri, body, ts)
			err := VerifyV3(vectorSecret, method, uri, body, ts, own, now)
			if err != nil && !errors.Is(err, ErrStaleRequest) {
				t.Fatalf("own signature rejected: %v", err)
			}
			if err == nil {
				if VerifyV3(vectorSecret, method, uri, append(append([]byte{}, body...), 'x'), ts, own, now) == nil {
					t.Fatal("signature accepted for a changed body")
				}
			}
		}
	})
}

func FuzzVerifyV1V2(f *testing.F) {
	f.Add([]byte(vectorV1Body), "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de", "POST", "https://www.example.com/webhook_uri")
	f.Fuzz(func(t *testing.T, body []byte, sig, method, uri string) {
		for _, err := range []error{VerifyV1(vectorSecret, body, sig), VerifyV2(vectorSecret, method, uri, body, sig)} {
			if err != nil && !errors.Is(err, ErrBadSignature) {
				t.Fatalf("unexpected error kind: %v", err)
			}
		}
		if VerifyV1(vectorSecret, body, SignV1(vectorSecret, body)) != nil || VerifyV2(vectorSecret, method, uri, body, SignV2(vectorSecret, method, uri, body)) != nil {
			t.Fatal("own signature rejected")
		}
	})
}
