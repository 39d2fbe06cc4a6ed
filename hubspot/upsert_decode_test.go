package hubspot

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// FuzzUpsertAnswerDecode checks that upsertAnswer's own decoder reads every answer
// encoding/json reads, as encoding/json reads it.
func FuzzUpsertAnswerDecode(f *testing.F) {
	for _, s := range []string{
		`{"status":"COMPLETE","results":[{"id":"1","properties":{"email":"a@b.co","lifecyclestage":"lead","company":null},"createdAt":"2026-01-01T00:00:00.123Z","updatedAt":"2026-01-01T00:00:00Z","archived":false,"new":true,"objectWriteTraceId":"0"}]}`,
		`{"results":[{"ID":"2","Properties":{"email":"x@y.z"},"NEW":false,"objectwritetraceid":"1"}],"errors":[{"status":"error","category":"VALIDATION_ERROR","message":"m","context":{"objectWriteTraceId":["1"]},"errors":[{"message":"bad","code":"INVALID"}]}]}`,
		`{"results":[{"id":"3","properties":{"a":"1","a":"2"},"new":null}],"results":[]}`,
		"{\"results\":[{\"id\":\"\xff\",\"properties\":{}}]}",
		`{"results":null,"errors":null,"extra":{"x":[1,2,3]}}`,
		`{"results":[{"id":"4","properties":null,"new":true}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v1, own upsertAnswer
		if err := json.Unmarshal(b, &v1); err != nil {
			return
		}
		if err := own.decodeJSON(b); err != nil {
			t.Fatalf("encoding/json reads %q, decodeJSON: %v", b, err)
		}
		if diff := cmp.Diff(v1, own); diff != "" {
			t.Fatalf("%q (-encoding/json +decodeJSON):\n%s", b, diff)
		}
	})
}

// FuzzUpsertBodyEncode checks that upsertBody's own encoder writes the bytes encoding/json writes.
func FuzzUpsertBodyEncode(f *testing.F) {
	f.Add("a@b.co", "country", "GR", "company", "<A&B> \u2028\"", "0")
	f.Add("\xff@x.y", "", "", "\x00", "\u2029\t\xc3", "12")
	f.Fuzz(func(t *testing.T, email, k1, v1, k2, v2, trace string) {
		b := upsertBody{Inputs: []upsertInputWire{
			{ID: email, IDProperty: "email", Properties: map[string]string{k1: v1, k2: v2, "z": v1, "a": v2}, ObjectWriteTraceID: trace},
			{ID: v2, IDProperty: "email", Properties: nil, ObjectWriteTraceID: k1},
			{ID: k2, Properties: map[string]string{}},
		}}
		want, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.encodeJSON()
		if err != nil {
			t.Fatalf("encodeJSON: %v", err)
		}
		valid := true
		for _, s := range []string{email, k1, v1, k2, v2, trace} {
			valid = valid && utf8.ValidString(s)
		}
		if valid && string(got) != string(want) {
			t.Fatalf("encodeJSON wrote\n%s\nencoding/json\n%s", got, want)
		}
		// With invalid UTF-8, both write U+FFFD in its place, encoding/json as \ufffd.
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("encodeJSON wrote %q: %v", got, err)
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(w, g); diff != "" {
			t.Fatalf("(-encoding/json +encodeJSON):\n%s", diff)
		}
	})
}
