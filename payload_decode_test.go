package hubsync

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecodePayload checks that decodePayload reads every contact and stage job payload the
// engine writes (encoding/json's output) as encoding/json reads it. (On input encoding/json never
// writes, the two may differ: a repeated name, an hour of one digit.)
func FuzzDecodePayload(f *testing.F) {
	f.Add("u1", "a@b.co", "A <b>", "country", "GR", "é\u2028&\x00", 1.5e300, int64(42), true, int64(1772361000), int64(123456789), "registered")
	f.Add("", "", "", "", "", "\xff", math.Copysign(0, -1), int64(math.MinInt64), false, int64(-62135596800), int64(0), "")
	f.Fuzz(func(t *testing.T, id, email, username, key, val, other string, num float64, n int64, consent bool, sec, nsec int64, trigger string) {
		if math.IsNaN(num) || math.IsInf(num, 0) {
			return // not encodable
		}
		at := time.Unix(sec, nsec).In(time.FixedZone("z", int(n%50000)))
		l := Learner{ID: id, Email: email, Username: username, MarketingConsent: consent, Created: at, Updated: at.UTC(),
			Values: map[string]any{key: val, "o": other, "f": num, "n": n, "b": consent, "t": at, "nil": nil}, Tags: []string{val, other}}
		j, err := contactJob("s", l, at)
		if err != nil {
			return // a time json cannot encode (year outside 0-9999)
		}
		var c1, c2 contactPayload
		if err := json.Unmarshal(j.Payload, &c1); err != nil {
			t.Fatalf("encoding/json cannot read back %q: %v", j.Payload, err)
		}
		if err := decodePayload(j.Payload, &c2); err != nil {
			t.Fatalf("decodePayload(%q): %v", j.Payload, err)
		}
		if diff := cmp.Diff(c1, c2); diff != "" {
			t.Fatalf("%q (-encoding/json +decodePayload):\n%s", j.Payload, diff)
		}
		sj := stageJob("s", email, LifecycleTrigger(trigger))
		var s1, s2 stagePayload
		if err := json.Unmarshal(sj.Payload, &s1); err != nil {
			t.Fatal(err)
		}
		if err := decodePayload(sj.Payload, &s2); err != nil || s1 != s2 {
			t.Fatalf("%q: encoding/json %+v, decodePayload %+v (%v)", sj.Payload, s1, s2, err)
		}
	})
}
