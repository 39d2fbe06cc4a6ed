package hubspot

import (
	"encoding/json"
	"testing"

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
